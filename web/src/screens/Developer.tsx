import { useEffect, useState } from "preact/hooks";
import { ApiError } from "../api";
import type { ApiKey, ApiKeyScope, CreatedApiKey } from "../api/types";
import { useSession } from "../app/context";
import { Alert } from "../components/Alert";
import { AppNav } from "../components/AppNav";
import { CopyLinkButton } from "../components/CopyLinkButton";
import { TopBar } from "../components/TopBar";
import { formatDateTime } from "../lib/format";
import { useTitle } from "../lib/useTitle";
import { DeveloperWebhooks } from "./DeveloperWebhooks";

/** The scopes a key may hold, with what each allows (docs/http-api.md, "API keys"). */
const SCOPES: { scope: ApiKeyScope; label: string }[] = [
  { scope: "meetings:read", label: "Read meetings" },
  { scope: "meetings:write", label: "Create, schedule, reschedule and cancel meetings" },
  { scope: "webhooks:manage", label: "Register webhooks and read their deliveries" },
];

const ERRORS: Record<string, string> = {
  too_many_keys: "You have too many active keys: revoke one first.",
  api_key_not_found: "This key does not exist any more.",
};

function errorText(err: unknown, fallback: string): string {
  if (err instanceof ApiError) return ERRORS[err.code] ?? (err.status === 422 ? "Give the key a name and at least one permission." : fallback);
  return fallback;
}

/** "Developer": the signed-in user's API keys — create (the secret shown once), list, revoke —
 * and webhooks (./DeveloperWebhooks.tsx). */
export function Developer() {
  useTitle("Developer");
  const session = useSession();
  const api = session.api;
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<ApiKeyScope[]>(["meetings:read", "meetings:write"]);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [busy, setBusy] = useState(false);

  const load = async () => {
    try {
      setKeys((await api.apiKeys.list()).keys);
      setLoadError(null);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === "not_signed_in")) setLoadError("Your API keys could not be loaded.");
    }
  };
  useEffect(() => void load(), []);

  const toggle = (scope: ApiKeyScope, on: boolean) =>
    setScopes((current) => (on ? [...current.filter((s) => s !== scope), scope] : current.filter((s) => s !== scope)));

  const create = async (event: Event) => {
    event.preventDefault();
    if (!name.trim()) return setError("Give the key a name, e.g. the application that will use it.");
    if (scopes.length === 0) return setError("Choose at least one permission.");
    setBusy(true);
    setError(null);
    try {
      const ordered = SCOPES.map((s) => s.scope).filter((s) => scopes.includes(s));
      setCreated(await api.apiKeys.create(name.trim(), ordered));
      setName("");
      await load();
    } catch (err) {
      setError(errorText(err, "The key could not be created. Please try again."));
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (key: ApiKey) => {
    setBusy(true);
    setError(null);
    try {
      await api.apiKeys.revoke(key.key_id);
      if (created?.key_id === key.key_id) setCreated(null);
      await load();
    } catch (err) {
      setError(errorText(err, "The key could not be revoked. Please try again."));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="page">
      <TopBar userName={session.user?.display_name}>
        <AppNav current="developer" />
      </TopBar>
      <main class="contacts developer" id="main">
        <h1>Developer</h1>
        <p class="panel-note">
          API keys let another application create and schedule meetings for you. A key acts as you, only with the permissions you give it: send it as the <code>X-API-Key</code> header (docs/http-api.md,
          “API keys”).
        </p>
        {error && <Alert onDismiss={() => setError(null)}>{error}</Alert>}
        {loadError && <Alert onDismiss={() => setLoadError(null)}>{loadError}</Alert>}

        {created && (
          <section class="card secret-card" aria-labelledby="secret-heading" data-testid="new-api-key">
            <h2 id="secret-heading">Your new key “{created.name}”</h2>
            <p>Copy it now: it is shown only this once. Parley keeps only a fingerprint of it.</p>
            <code class="secret" data-testid="api-key-secret">
              {created.secret}
            </code>
            <span class="contact-actions">
              <CopyLinkButton url={created.secret} label="Copy key" />
              <button type="button" class="button-quiet" onClick={() => setCreated(null)}>
                Done
              </button>
            </span>
          </section>
        )}

        <section class="card" aria-labelledby="create-key-heading">
          <h2 id="create-key-heading">Create an API key</h2>
          <form class="form" onSubmit={create}>
            <div class="field">
              <label for="key-name">Name</label>
              <input id="key-name" type="text" maxLength={100} placeholder="e.g. CRM integration" value={name} onInput={(e) => setName(e.currentTarget.value)} />
            </div>
            <fieldset class="field scopes">
              <legend>Permissions</legend>
              {SCOPES.map(({ scope, label }) => (
                <label key={scope} class="scope-option">
                  <input type="checkbox" checked={scopes.includes(scope)} onChange={(e) => toggle(scope, e.currentTarget.checked)} />
                  <span>
                    {label} <code>{scope}</code>
                  </span>
                </label>
              ))}
            </fieldset>
            <button type="submit" class="button-primary" disabled={busy}>
              Create key
            </button>
          </form>
        </section>

        <section class="card" aria-labelledby="keys-heading" data-testid="api-key-list">
          <h2 id="keys-heading">Your API keys</h2>
          {keys === null && !loadError && <p class="panel-note">Loading…</p>}
          {keys !== null && keys.length === 0 && <p class="panel-note">No keys yet.</p>}
          <ul class="contact-list">
            {(keys ?? []).map((key) => (
              <li key={key.key_id} class="contact-item" data-testid="api-key-item" data-key-id={key.key_id} data-revoked={key.revoked_at ? "true" : "false"}>
                <span class="contact-person">
                  <span class="contact-name">{key.name}</span>
                  <span class="contact-email">
                    <code>{key.shown}…</code> · {key.scopes.join(", ")}
                  </span>
                  <span class="contact-email">
                    Created {formatDateTime(key.created_at)} · {key.last_used_at ? `last used ${formatDateTime(key.last_used_at)}` : "never used"}
                  </span>
                </span>
                <span class="contact-actions">
                  {key.revoked_at ? (
                    <span class="contact-note">Revoked {formatDateTime(key.revoked_at)}</span>
                  ) : (
                    <button type="button" class="button-secondary" disabled={busy} aria-label={`Revoke ${key.name}`} onClick={() => void revoke(key)}>
                      Revoke
                    </button>
                  )}
                </span>
              </li>
            ))}
          </ul>
        </section>

        <DeveloperWebhooks api={api} />
      </main>
    </div>
  );
}
