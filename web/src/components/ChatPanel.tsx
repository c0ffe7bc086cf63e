import { useEffect, useRef, useState } from "preact/hooks";
import type { ChatStore } from "../chat/store";
import { formatTime } from "../lib/format";
import { useStore } from "../lib/store";

interface ChatPanelProps {
  chat: ChatStore;
  selfUserId: string;
  id?: string;
  /** Heading level text; the panel is a region named by it. */
  title?: string;
  canPost?: boolean;
}

/** History and live messages of one meeting, and a box to write in. */
export function ChatPanel({ chat, selfUserId, id = "chat-panel", title = "Chat", canPost = true }: ChatPanelProps) {
  const { messages, olderCursor, loading, error, allowed } = useStore(chat.state);
  const [draft, setDraft] = useState("");
  const listRef = useRef<HTMLDivElement>(null);
  const stickToBottom = useRef(true);

  useEffect(() => {
    const list = listRef.current;
    if (list && stickToBottom.current) list.scrollTop = list.scrollHeight;
  }, [messages.length]);

  const submit = (event: Event) => {
    event.preventDefault();
    const text = draft.trim();
    if (!text) return;
    setDraft("");
    stickToBottom.current = true;
    void chat.send(text);
  };

  const headingId = `${id}-heading`;
  return (
    <section class="panel chat-panel" data-testid="chat-panel" id={id} aria-labelledby={headingId}>
      <h2 id={headingId} class="panel-title">
        {title}
      </h2>
      {error && <p class="panel-note">{error}</p>}
      <div
        class="chat-scroll"
        ref={listRef}
        role="log"
        aria-label="Conversation"
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
      >
        {olderCursor && (
          <button type="button" class="button-quiet load-older" onClick={() => void chat.loadOlder()} disabled={loading}>
            Load earlier messages
          </button>
        )}
        <ol class="chat-messages" data-testid="chat-messages">
          {messages.map((m) => (
            <li key={m.message_id} class={`chat-message${m.sender_id === selfUserId ? " chat-own" : ""}${m.pending ? " chat-pending" : ""}`} data-testid="chat-message" data-message-id={m.message_id}>
              <div class="chat-meta">
                <span class="chat-sender">
                  {m.sender_name}
                  {m.sender_id === selfUserId && " (you)"}
                </span>
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
                  <button type="button" class="button-quiet" onClick={() => void chat.retry(m.message_id)}>
                    Retry
                  </button>
                </p>
              )}
            </li>
          ))}
        </ol>
        {!loading && messages.length === 0 && allowed && <p class="panel-note">No messages yet.</p>}
      </div>
      {canPost && allowed && (
        <form class="chat-form" onSubmit={submit}>
          <label for={`${id}-input`} class="visually-hidden">
            Message
          </label>
          <input
            id={`${id}-input`}
            type="text"
            autocomplete="off"
            maxLength={4000}
            placeholder="Write a message"
            value={draft}
            onInput={(e) => setDraft(e.currentTarget.value)}
          />
          <button type="submit" class="button-primary" disabled={!draft.trim()}>
            Send
          </button>
        </form>
      )}
    </section>
  );
}
