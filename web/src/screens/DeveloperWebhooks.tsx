import { useEffect, useState } from "preact/hooks";
import { ApiError, type Api } from "../api";
import type { CreatedWebhookEndpoint, WebhookDelivery, WebhookEndpoint, WebhookEventType } from "../api/types";
import { Alert } from "../components/Alert";
import { CopyLinkButton } from "../components/CopyLinkButton";
import { formatDateTime } from "../lib/format";

/** The event types an endpoint may receive, with words for each (docs/webhooks.md). */
const EVENT_TYPES: { type: WebhookEventType; label: string }[] = [
  { type: "meeting.created", label: "A meeting was created" },
  { type: "meeting.started", label: "Someone joined first" },
  { type: "meeting.ended", label: "A meeting ended" },
  { type: "meeting.expired", label: "A meeting expired (left empty)" },
  { type: "participant.joined", label: "Someone joined the call" },
  { type: "participant.left", label: "Someone left the call" },
  { type: "chat.message.posted", label: "A chat message was posted" },
];

const STATES: Record<WebhookDelivery["state"], string> = {
  pending: "waiting to retry",
  delivering: "sending",
  succeeded: "delivered",
  failed: "failed",
};

/** How often a shown delivery log on its way is read again. */
const REFRESH_MS = 2000;

function errorText(err: unknown, fallback: string): string {
  // a refused address is one entry of FastAPI's 422 list; its words say why (docs/webhooks.md)
  if (err instanceof ApiError && err.status === 422) return `This address cannot receive webhooks, or no event is chosen: ${err.message}`;
  return fallback;
}

function describe(delivery: WebhookDelivery): string {
  const tries = `${delivery.attempts} attempt${delivery.attempts === 1 ? "" : "s"}`;
  const answer = delivery.last_status_code !== null ? `answered ${delivery.last_status_code}` : delivery.last_error ?? "not sent yet";
  const next = delivery.state === "pending" && delivery.next_attempt_at ? ` · next try ${formatDateTime(delivery.next_attempt_at)}` : "";
  return `${STATES[delivery.state]} · ${tries} · ${answer}${next}`;
}

/** One endpoint: its events, its recent deliveries (on demand), replay and delete. */
function EndpointItem({ api, endpoint, busy, onDelete }: { api: Api; endpoint: WebhookEndpoint; busy: boolean; onDelete: () => void }) {
  const [deliveries, setDeliveries] = useState<WebhookDelivery[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  const load = async () => {
    try {
      setDeliveries((await api.webhooks.deliveries(endpoint.endpoint_id)).deliveries);
      setProblem(null);
    } catch {
      setProblem("The deliveries could not be loaded.");
    }
  };

  // while a shown delivery is on its way, look again every few seconds
  useEffect(() => {
    if (!deliveries?.some((d) => d.state === "pending" || d.state === "delivering")) return;
    const timer = window.setTimeout(() => void load(), REFRESH_MS);
    return () => window.clearTimeout(timer);
  }, [deliveries]);

  const replay = async (delivery: WebhookDelivery) => {
    try {
      await api.webhooks.replay(endpoint.endpoint_id, delivery.delivery_id);
      await load();
    } catch {
      setProblem("The delivery could not be sent again. Try again in a moment.");
    }
  };

  return (
    <li class="contact-item webhook-item" data-testid="webhook-item" data-endpoint-id={endpoint.endpoint_id}>
      <span class="contact-person">
        <span class="contact-name">
          <code>{endpoint.url}</code>
        </span>
        <span class="contact-email">{endpoint.event_types.join(", ")}</span>
        <span class="contact-email">
          {endpoint.description ? `${endpoint.description} · ` : ""}registered {formatDateTime(endpoint.created_at)}
        </span>
        {problem && <span class="contact-note">{problem}</span>}
        {deliveries !== null && (
          <ul class="webhook-deliveries" data-testid="webhook-deliveries" aria-label={`Deliveries to ${endpoint.url}`}>
            {deliveries.length === 0 && <li class="panel-note">Nothing sent yet.</li>}
            {deliveries.map((delivery) => (
              <li key={delivery.delivery_id} data-testid="webhook-delivery" data-state={delivery.state}>
                <code>{delivery.event_type}</code> {formatDateTime(delivery.created_at)} · {describe(delivery)}{" "}
                {delivery.state !== "delivering" && (
                  <button type="button" class="button-quiet" aria-label={`Send ${delivery.event_type} again`} onClick={() => void replay(delivery)}>
                    Send again
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
      </span>
      <span class="contact-actions">
        <button type="button" class="button-secondary" onClick={() => void load()} aria-label={`Show deliveries to ${endpoint.url}`}>
          {deliveries === null ? "Deliveries" : "Refresh"}
        </button>
        <button type="button" class="button-secondary" disabled={busy} aria-label={`Delete ${endpoint.url}`} onClick={onDelete}>
          Delete
        </button>
      </span>
    </li>
  );
}

/** The Developer page's "Webhooks": register an endpoint (its secret shown once), list
 * endpoints, read and replay their deliveries, delete one. */
export function DeveloperWebhooks({ api }: { api: Api }) {
  const [endpoints, setEndpoints] = useState<WebhookEndpoint[] | null>(null);
  const [url, setUrl] = useState("");
  const [types, setTypes] = useState<WebhookEventType[]>(["meeting.created", "meeting.ended"]);
  const [created, setCreated] = useState<CreatedWebhookEndpoint | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = async () => {
    try {
      setEndpoints((await api.webhooks.list()).endpoints);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === "not_signed_in")) setError("Your webhooks could not be loaded.");
    }
  };
  useEffect(() => void load(), []);

  const toggle = (type: WebhookEventType, on: boolean) =>
    setTypes((current) => (on ? [...current.filter((t) => t !== type), type] : current.filter((t) => t !== type)));

  const register = async (event: Event) => {
    event.preventDefault();
    if (!url.trim()) return setError("Give the address that receives the webhooks, e.g. https://example.com/parley.");
    if (types.length === 0) return setError("Choose at least one event.");
    setBusy(true);
    setError(null);
    try {
      const ordered = EVENT_TYPES.map((e) => e.type).filter((t) => types.includes(t));
      setCreated(await api.webhooks.create(url.trim(), ordered));
      setUrl("");
      await load();
    } catch (err) {
      setError(errorText(err, "The webhook could not be registered. Please try again."));
    } finally {
      setBusy(false);
    }
  };

  const remove = async (endpoint: WebhookEndpoint) => {
    setBusy(true);
    setError(null);
    try {
      await api.webhooks.remove(endpoint.endpoint_id);
      if (created?.endpoint_id === endpoint.endpoint_id) setCreated(null);
      await load();
    } catch {
      setError("The webhook could not be deleted. Please try again.");
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h2 class="section-heading">Webhooks</h2>
      <p class="panel-note">
        Parley sends a signed message to your address when something happens in the meetings you host (docs/webhooks.md: the format and how to verify the <code>webhook-signature</code>).
      </p>
      {error && <Alert onDismiss={() => setError(null)}>{error}</Alert>}
      {created && (
        <section class="card secret-card" aria-labelledby="webhook-secret-heading" data-testid="new-webhook">
          <h3 id="webhook-secret-heading">Signing secret of {created.url}</h3>
          <p>Copy it now: it is shown only this once. Your receiver verifies each message with it.</p>
          <code class="secret" data-testid="webhook-secret">
            {created.secret}
          </code>
          <span class="contact-actions">
            <CopyLinkButton url={created.secret} label="Copy secret" />
            <button type="button" class="button-quiet" onClick={() => setCreated(null)}>
              Done
            </button>
          </span>
        </section>
      )}
      <section class="card" aria-labelledby="create-webhook-heading">
        <h3 id="create-webhook-heading">Register a webhook</h3>
        <form class="form" onSubmit={register}>
          <div class="field">
            <label for="webhook-url">Address</label>
            <input id="webhook-url" type="url" maxLength={2000} placeholder="https://example.com/parley" value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
          </div>
          <fieldset class="field scopes">
            <legend>Events</legend>
            {EVENT_TYPES.map(({ type, label }) => (
              <label key={type} class="scope-option">
                <input type="checkbox" checked={types.includes(type)} onChange={(e) => toggle(type, e.currentTarget.checked)} />
                <span>
                  {label} <code>{type}</code>
                </span>
              </label>
            ))}
          </fieldset>
          <button type="submit" class="button-primary" disabled={busy}>
            Register webhook
          </button>
        </form>
      </section>
      <section class="card" aria-labelledby="webhooks-heading" data-testid="webhook-list">
        <h3 id="webhooks-heading">Your webhooks</h3>
        {endpoints === null && <p class="panel-note">Loading…</p>}
        {endpoints !== null && endpoints.length === 0 && <p class="panel-note">No webhooks yet.</p>}
        <ul class="contact-list">
          {(endpoints ?? []).map((endpoint) => (
            <EndpointItem key={endpoint.endpoint_id} api={api} endpoint={endpoint} busy={busy} onDelete={() => void remove(endpoint)} />
          ))}
        </ul>
      </section>
    </>
  );
}
