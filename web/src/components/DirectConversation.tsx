import { useEffect, useRef, useState } from "preact/hooks";
import type { Api, Conversation, DirectMessage, User } from "../api";
import { notSentWords } from "../chat/failure";
import { mergeMessages, newMessageId } from "../chat/merge";
import { formatTime } from "../lib/format";
import { inOrder } from "../lib/inOrder";
import type { SignalingClient } from "../signaling/client";

type Entry = DirectMessage & { pending?: boolean; failed?: boolean; failure?: string };

interface Props {
  api: Api;
  socket: SignalingClient | null;
  selfId: string;
  selfName: string;
  peer: User;
  /** The conversation was marked read: as chat answered the mark (the page sets its badge from it). */
  onRead: (conversation: Conversation) => void;
  onClose: () => void;
}

/**
 * The conversation with one contact (docs/http-api.md, "Direct messages"): history newest page
 * first with "Load earlier messages", live `direct-message`s merged in by `message_id` (a repeat
 * changes nothing), the latest page read again after every reconnection of the socket, and the
 * conversation marked read, up to the newest message shown, when it opens and when a message
 * arrives while it is open. Sends show at once (pending) and are posted one at a time, so they
 * are stored in the order typed.
 */
export function DirectConversation({ api, socket, selfId, selfName, peer, onRead, onClose }: Props) {
  const [messages, setMessages] = useState<Entry[]>([]);
  const [older, setOlder] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [draft, setDraft] = useState("");
  const listRef = useRef<HTMLDivElement>(null);
  const panelRef = useRef<HTMLElement>(null);
  const inputRef = useRef<HTMLInputElement>(null);
  const [posting] = useState(inOrder);
  const peerId = peer.user_id;

  const shown = useRef(0); // the newest `seq` on screen: a read mark covers what was shown, not what came meanwhile
  const add = (incoming: Entry[]) => {
    for (const m of incoming) shown.current = Math.max(shown.current, m.seq ?? 0);
    setMessages((current) => mergeMessages<Entry>(current, incoming));
  };
  const markRead = async () => {
    if (shown.current === 0) return;
    try {
      onRead(await api.directMessages.read(peerId, shown.current));
    } catch {
      // marked on the next message, reconnection or return to the page
    }
  };

  const loadLatest = async (first: boolean) => {
    try {
      const page = await api.directMessages.history(peerId, { limit: 50 });
      add(page.messages);
      if (first) setOlder(page.next_cursor);
      setError(null);
      void markRead();
    } catch {
      setError("The conversation could not be loaded.");
    } finally {
      setLoading(false);
    }
  };

  useEffect(() => {
    shown.current = 0;
    setMessages([]);
    setOlder(null);
    setLoading(true);
    void loadLatest(true);
    if (!socket) return;
    const offMessage = socket.on("direct-message", (message) => {
      const mine = message.sender_id === selfId && message.recipient_id === peerId;
      if (!mine && message.sender_id !== peerId) return;
      add([message]);
      if (!mine && !document.hidden) void markRead();
    });
    const offSession = socket.onSession(() => void loadLatest(false));
    // what arrived while the page was hidden is read once it shows again
    const onVisible = () => !document.hidden && void markRead();
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      offMessage();
      offSession();
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [peerId, socket]);

  // Opened (or another contact's): into view, ready to write. The panel sits below the
  // lists, out of sight on a phone and on a long contact list.
  useEffect(() => {
    panelRef.current?.scrollIntoView({ block: "nearest" });
    inputRef.current?.focus({ preventScroll: true });
  }, [peerId]);

  useEffect(() => {
    const list = listRef.current;
    if (list) list.scrollTop = list.scrollHeight;
  }, [messages.length]);

  const loadOlder = async () => {
    if (!older) return;
    setLoading(true);
    try {
      const page = await api.directMessages.history(peerId, { limit: 50, before: older });
      add(page.messages);
      setOlder(page.next_cursor);
    } catch {
      setError("Earlier messages could not be loaded.");
    } finally {
      setLoading(false);
    }
  };

  const send = async (entry: Entry) => {
    add([{ ...entry, pending: true, failed: false }]);
    try {
      add([await posting(() => api.directMessages.post(peerId, entry.message_id, entry.text))]);
    } catch (err) {
      add([{ ...entry, pending: true, failed: true, failure: notSentWords(err) }]);
    }
  };

  const submit = (event: Event) => {
    event.preventDefault();
    const text = draft.trim();
    if (!text) return;
    setDraft("");
    void send({
      conversation_id: "",
      message_id: newMessageId(),
      sender_id: selfId,
      sender_name: selfName,
      recipient_id: peerId,
      text,
      posted_at: new Date().toISOString(),
    });
  };

  return (
    <section ref={panelRef} class="card panel chat-panel" data-testid="dm-panel" data-peer-id={peerId} aria-labelledby="dm-heading">
      <h2 id="dm-heading" class="panel-title">
        Messages with {peer.display_name}
        <button type="button" class="button-quiet" onClick={onClose} aria-label="Close the conversation">
          Close
        </button>
      </h2>
      {error && <p class="panel-note">{error}</p>}
      <div class="chat-scroll" ref={listRef} role="log" aria-label={`Conversation with ${peer.display_name}`} tabIndex={0}>
        {older && (
          <button type="button" class="button-quiet load-older" onClick={() => void loadOlder()} disabled={loading}>
            Load earlier messages
          </button>
        )}
        <ol class="chat-messages" data-testid="dm-messages">
          {messages.map((m) => (
            <li
              key={m.message_id}
              class={`chat-message${m.sender_id === selfId ? " chat-own" : ""}${m.pending ? " chat-pending" : ""}`}
              data-testid="dm-message"
              data-message-id={m.message_id}
            >
              <div class="chat-meta">
                <span class="chat-sender">{m.sender_id === selfId ? "You" : m.sender_name}</span>
                {!m.pending && (
                  <time dateTime={m.posted_at} class="chat-time">
                    {formatTime(m.posted_at)}
                  </time>
                )}
                {m.pending && !m.failed && <span class="chat-time">Sending…</span>}
              </div>
              <p class="chat-text">{m.text}</p>
              {m.failed && (
                <p class="chat-failed">
                  {m.failure ?? "Not sent."}{" "}
                  <button type="button" class="button-quiet" onClick={() => void send(m)}>
                    Retry
                  </button>
                </p>
              )}
            </li>
          ))}
        </ol>
        {!loading && messages.length === 0 && <p class="panel-note">No messages yet. Say hello.</p>}
      </div>
      <form class="chat-form" onSubmit={submit}>
        <label for="dm-input" class="visually-hidden">
          Message
        </label>
        <input
          ref={inputRef}
          id="dm-input"
          type="text"
          autocomplete="off"
          maxLength={4000}
          placeholder={`Write to ${peer.display_name}`}
          value={draft}
          onInput={(e) => setDraft(e.currentTarget.value)}
        />
        <button type="submit" class="button-primary" disabled={!draft.trim()}>
          Send
        </button>
      </form>
    </section>
  );
}
