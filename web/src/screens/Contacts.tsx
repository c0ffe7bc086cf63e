import type { ComponentChildren } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError } from "../api";
import type { Call, Contact, ContactList, User } from "../api/types";
import { useCallState, useCalls } from "../calls/context";
import { useSession } from "../app/context";
import { useUserSocket } from "../app/userSocket";
import { Alert } from "../components/Alert";
import { AppNav } from "../components/AppNav";
import { TopBar } from "../components/TopBar";
import { applyPresence, describePresence } from "../contacts/presence";
import { formatCallTime, describeCall, namesOnCalls, partnerOf } from "../calls/history";
import { STALE, latestOnly } from "../lib/latest";
import { useTitle } from "../lib/useTitle";
import type { ServerEvents } from "../signaling/types";
import { askToNotify, useUnreadMessages } from "../contacts/directMessages";
import { DirectConversation } from "../components/DirectConversation";

const EMPTY: ContactList = { contacts: [], incoming: [], outgoing: [], blocked: [] };

/** Messages for the API's error codes (docs/http-api.md, "Contacts"). */
const ERRORS: Record<string, string> = {
  user_not_found: "No Parley user has this email address.",
  cannot_invite_self: "You cannot add yourself.",
  blocked: "This person does not accept invitations from you.",
  you_block_this_user: "You block this person: unblock them first.",
};

function errorText(err: unknown, fallback: string): string {
  if (err instanceof ApiError) return ERRORS[err.code] ?? (err.status === 422 ? "Enter a valid email address." : fallback);
  return fallback;
}

function PresenceDot({ contact, now }: { contact: Contact; now: number }) {
  const state = contact.presence?.state ?? "offline";
  return (
    <span class="presence" data-testid="presence-status" data-state={state}>
      <span class={`presence-dot presence-${state}`} aria-hidden="true" />
      {describePresence(contact.presence, now)}
    </span>
  );
}

/** A person's name and email, and under them what ``children`` add (a contact's presence):
 * a column of its own, so that what it says never moves the row's buttons. */
function Person({ user, children }: { user: User; children?: ComponentChildren }) {
  return (
    <span class="contact-person">
      <span class="contact-name">{user.display_name}</span>
      <span class="contact-email">{user.email}</span>
      {children}
    </span>
  );
}

/** The call history: missed calls with "Call back" (docs/http-api.md, "Calls"). */
function CallHistory({ calls, names, onCall, busy }: { calls: Call[]; names: ReadonlyMap<string, string>; onCall: (userId: string, name: string) => void; busy: boolean }) {
  return (
    <section class="card" aria-labelledby="calls-heading" data-testid="call-history">
      <h2 id="calls-heading">Recent calls</h2>
      {calls.length === 0 && <p class="panel-note">No calls yet.</p>}
      <ul class="contact-list">
        {calls.map((c) => {
          const other = partnerOf(c, names);
          const missed = c.direction === "incoming" && c.state === "missed";
          return (
            <li key={c.call_id} class="contact-item call-history-item" data-testid="call-history-item" data-state={c.state} data-direction={c.direction}>
              <span class="contact-person">
                <span class="contact-name">{other.name ?? "Unknown contact"}</span>
                <span class={missed ? "call-state-missed" : "contact-email"}>{describeCall(c)}</span>
              </span>
              <span class="contact-note">{formatCallTime(c.created_at)}</span>
              {missed && (
                <span class="contact-actions">
                  <button type="button" class="button-primary" disabled={busy} onClick={() => onCall(other.id, other.name ?? "your contact")}>
                    Call back
                  </button>
                </span>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

export function Contacts() {
  const session = useSession();
  const api = session.api;
  const calls = useCalls();
  const socket = useUserSocket();
  const [talkingTo, setTalkingTo] = useState<User | null>(null); // the open conversation's contact
  const dms = useUnreadMessages(api, socket, session.user?.user_id, talkingTo?.user_id ?? null);
  useTitle(dms.total > 0 ? `(${dms.total}) Contacts` : "Contacts");
  const { version } = useCallState();
  const [history, setHistory] = useState<Call[]>([]);
  const namesSeen = useRef(new Map<string, string>());
  useEffect(() => {
    api.calls.list().then((list) => setHistory(list.history), () => undefined);
  }, [version]);
  const callContact = (userId: string, name: string) => void calls?.place(userId, name);
  const [list, setList] = useState<ContactList | null>(null);
  const [error, setError] = useState<string | null>(null); // the last action's failure
  const [loadError, setLoadError] = useState<string | null>(null); // the list's; a reload never hides an action's error
  const [notice, setNotice] = useState<string | null>(null);
  // whom "Invitation sent to …" is about: it goes once they answered (no longer outgoing)
  const [invited, setInvited] = useState<string | null>(null);
  const [email, setEmail] = useState("");
  const [query, setQuery] = useState("");
  const [busy, setBusy] = useState(false);
  const [now, setNow] = useState(Date.now());
  const queryRef = useRef("");
  const latest = useMemo(latestOnly, []);
  // while a load is on its way, the presence events since it began: its answer may predate them
  const presenceSinceLoad = useRef<ServerEvents["presence"][] | null>(null);

  const load = async () => {
    presenceSinceLoad.current = [];
    try {
      const q = queryRef.current.trim();
      const next = await latest(() => api.contacts.list(q || undefined));
      if (next === STALE) return; // a later load answers
      if (queryRef.current.trim() === q) setList((presenceSinceLoad.current ?? []).reduce(applyPresence, next));
      setLoadError(null);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === "not_signed_in")) setLoadError("Your contacts could not be loaded.");
    }
    presenceSinceLoad.current = null;
  };

  useEffect(() => {
    void load();
    const clock = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(clock);
  }, []);

  // The app's socket: presence comes in as it changes, and what was missed after a reconnection.
  useEffect(() => {
    if (!socket) return;
    const offPresence = socket.on("presence", (event) => {
      presenceSinceLoad.current?.push(event);
      setList((current) => (current ? applyPresence(current, event) : current));
    });
    const offChanged = socket.on("contacts-changed", () => void load());
    const offSession = socket.onSession(() => void load());
    return () => {
      offPresence();
      offChanged();
      offSession();
    };
  }, [socket]);

  const act = async (what: () => Promise<unknown>, failure: string, done?: string) => {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      await what();
      if (done) setNotice(done);
      await load();
    } catch (err) {
      setError(errorText(err, failure));
    } finally {
      setBusy(false);
    }
  };

  const invite = async (event: Event) => {
    event.preventDefault();
    const address = email.trim();
    if (!address) return setError("Enter the email address of the person to add.");
    await act(
      async () => {
        const contact = await api.contacts.invite(address);
        setEmail("");
        setInvited(contact.user.user_id);
        return contact;
      },
      "The invitation could not be sent. Please try again.",
      `Invitation sent to ${address}.`,
    );
  };

  const search = (value: string) => {
    setQuery(value);
    queryRef.current = value;
    void load();
  };

  const view = list ?? EMPTY;
  // Every name this page has seen: a search that hides a contact, or a block, must not take
  // their name off the call history.
  for (const user of [...view.contacts, ...view.incoming, ...view.outgoing].map((c) => c.user).concat(view.blocked)) {
    namesSeen.current.set(user.user_id, user.display_name);
  }
  // and a name the calls carry, for someone no list names (a former contact); a list's is newer
  const names = new Map([...namesOnCalls(history), ...namesSeen.current]);
  return (
    <div class="page">
      <TopBar userName={session.user?.display_name}>
        <AppNav current="contacts" />
      </TopBar>
      <main class="contacts" id="main">
        <h1>Contacts</h1>
        {error && <Alert onDismiss={() => setError(null)}>{error}</Alert>}
        {loadError && <Alert onDismiss={() => setLoadError(null)}>{loadError}</Alert>}
        {notice && (invited === null || view.outgoing.some((c) => c.user.user_id === invited)) && (
          <p class="panel-note" role="status">
            {notice}
          </p>
        )}
        <section class="card" aria-labelledby="add-heading">
          <h2 id="add-heading">Add a contact</h2>
          <form class="form contact-add" onSubmit={invite}>
            <div class="field">
              <label for="contact-email">Email address</label>
              <input id="contact-email" type="email" required maxLength={320} value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
            </div>
            <button type="submit" class="button-primary" disabled={busy}>
              Send invitation
            </button>
          </form>
        </section>

        {(view.incoming.length > 0 || view.outgoing.length > 0) && (
          <section class="card" aria-labelledby="invitations-heading">
            <h2 id="invitations-heading">Invitations</h2>
            <ul class="contact-list">
              {view.incoming.map((c) => (
                <li key={c.contact_id} class="contact-item" data-testid="invitation-incoming" data-user-id={c.user.user_id}>
                  <Person user={c.user} />
                  <span class="contact-note">wants to add you</span>
                  <span class="contact-actions">
                    <button type="button" class="button-primary" disabled={busy} onClick={() => act(() => api.contacts.accept(c.contact_id), "The invitation could not be accepted.")}>
                      Accept
                    </button>
                    <button type="button" class="button-secondary" disabled={busy} onClick={() => act(() => api.contacts.decline(c.contact_id), "The invitation could not be declined.")}>
                      Decline
                    </button>
                  </span>
                </li>
              ))}
              {view.outgoing.map((c) => (
                <li key={c.contact_id} class="contact-item" data-testid="invitation-outgoing" data-user-id={c.user.user_id}>
                  <Person user={c.user} />
                  <span class="contact-note">invited, waiting for an answer</span>
                  <span class="contact-actions">
                    <button type="button" class="button-secondary" disabled={busy} onClick={() => act(() => api.contacts.decline(c.contact_id), "The invitation could not be withdrawn.")}>
                      Withdraw
                    </button>
                  </span>
                </li>
              ))}
            </ul>
          </section>
        )}

        <section class="card" aria-labelledby="contacts-heading" data-testid="contact-list">
          <h2 id="contacts-heading">Your contacts</h2>
          <div class="field">
            <label for="contact-search">Search contacts</label>
            <input id="contact-search" type="search" maxLength={100} value={query} onInput={(e) => search(e.currentTarget.value)} />
          </div>
          {list === null && !loadError && <p class="panel-note">Loading…</p>}
          {list !== null && view.contacts.length === 0 && (
            <p class="panel-note">{query.trim() ? "No contact matches your search." : "No contacts yet. Add someone by email above."}</p>
          )}
          <ul class="contact-list">
            {view.contacts.map((c) => (
              <li key={c.contact_id} class="contact-item" data-testid="contact-item" data-user-id={c.user.user_id}>
                <Person user={c.user}>
                  <PresenceDot contact={c} now={now} />
                </Person>
                <span class="contact-actions">
                  <button
                    type="button"
                    class="button-secondary"
                    aria-label={`Message ${c.user.display_name}`}
                    onClick={() => {
                      askToNotify();
                      setTalkingTo(c.user);
                    }}
                  >
                    Message
                    {(dms.unread[c.user.user_id] ?? 0) > 0 && (
                      <span class="badge" data-testid="unread-count" aria-label={`${dms.unread[c.user.user_id]} unread`}>
                        {dms.unread[c.user.user_id]}
                      </span>
                    )}
                  </button>
                  <button
                    type="button"
                    class="button-primary"
                    disabled={busy || !calls}
                    aria-label={`Call ${c.user.display_name}`}
                    onClick={() => callContact(c.user.user_id, c.user.display_name)}
                  >
                    Call
                  </button>
                  <button
                    type="button"
                    class="button-quiet"
                    disabled={busy}
                    aria-label={`Remove ${c.user.display_name}`}
                    onClick={() => act(() => api.contacts.remove(c.contact_id), "The contact could not be removed.")}
                  >
                    Remove
                  </button>
                  <button
                    type="button"
                    class="button-quiet"
                    disabled={busy}
                    aria-label={`Block ${c.user.display_name}`}
                    onClick={() => act(() => api.contacts.block(c.user.user_id), "The person could not be blocked.")}
                  >
                    Block
                  </button>
                </span>
              </li>
            ))}
          </ul>
        </section>

        {talkingTo && session.user && (
          <DirectConversation
            api={api}
            socket={socket}
            selfId={session.user.user_id}
            selfName={session.user.display_name}
            peer={talkingTo}
            onRead={dms.read}
            onClose={() => setTalkingTo(null)}
          />
        )}

        <CallHistory calls={history} names={names} onCall={callContact} busy={busy} />

        {view.blocked.length > 0 && (
          <section class="card" aria-labelledby="blocked-heading">
            <h2 id="blocked-heading">Blocked</h2>
            <ul class="contact-list">
              {view.blocked.map((u) => (
                <li key={u.user_id} class="contact-item" data-testid="blocked-item" data-user-id={u.user_id}>
                  <Person user={u} />
                  <span class="contact-actions">
                    <button type="button" class="button-secondary" disabled={busy} aria-label={`Unblock ${u.display_name}`} onClick={() => act(() => api.contacts.unblock(u.user_id), "The person could not be unblocked.")}>
                      Unblock
                    </button>
                  </span>
                </li>
              ))}
            </ul>
          </section>
        )}
      </main>
    </div>
  );
}
