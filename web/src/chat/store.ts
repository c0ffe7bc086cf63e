import type { Api } from "../api";
import { ApiError } from "../api/http";
import { notSentWords } from "./failure";
import type { ChatMessage } from "../api/types";
import { inOrder } from "../lib/inOrder";
import { Store } from "../lib/store";
import { type ChatEntry, mergeMessages, newMessageId } from "./merge";

export interface ChatState {
  messages: ChatEntry[];
  /** Cursor of the next older page, null when the oldest message is loaded. */
  olderCursor: string | null;
  loading: boolean;
  /** Set when the history could not be read (words), e.g. not a participant. */
  error: string | null;
  /** Whether the user may read and post (false for someone who never joined this meeting). */
  allowed: boolean;
  /** The newest `seq` of the first history page read (null before it): what came before the
   * reader arrived, never counted as unread. */
  baselineSeq: number | null;
}

/** The newest `seq` among `messages` (0 if none has one yet). */
export function newestSeq(messages: ChatEntry[]): number {
  return messages.reduce((max, m) => (typeof m.seq === "number" && m.seq > max ? m.seq : max), 0);
}

/** Messages from others newer than `seenSeq` and than the baseline (0 before the first page). */
export function unreadCount(state: ChatState, selfId: string, seenSeq: number): number {
  if (state.baselineSeq === null) return 0;
  const since = Math.max(seenSeq, state.baselineSeq);
  return state.messages.filter((m) => typeof m.seq === "number" && m.seq > since && m.sender_id !== selfId).length;
}

/**
 * One meeting's chat: the history (GET, newest page first, older pages on demand), live
 * messages (`chat-message` from signaling) and our own sends (optimistic, confirmed by the
 * POST's answer, one POST at a time so that they are stored in the order they were typed),
 * merged and deduplicated by message_id.
 */
export class ChatStore {
  readonly state = new Store<ChatState>({ messages: [], olderCursor: null, loading: false, error: null, allowed: true, baselineSeq: null });
  private senderId = "";
  private senderName = "";
  private readonly posting = inOrder();

  constructor(
    private readonly api: Api,
    readonly meetingId: string,
  ) {}

  setSender(userId: string, name: string): void {
    this.senderId = userId;
    this.senderName = name;
  }

  /** Loads (or reloads, after a reconnection) the newest page; keeps what is already there. */
  async loadHistory(): Promise<void> {
    this.state.set({ loading: true });
    try {
      const page = await this.api.chat.history(this.meetingId, { limit: 50 });
      this.state.set((s) => ({
        messages: mergeMessages(s.messages, page.messages),
        olderCursor: s.messages.length === 0 || s.olderCursor === null ? page.next_cursor : s.olderCursor,
        loading: false,
        error: null,
        allowed: true,
        baselineSeq: s.baselineSeq ?? newestSeq(page.messages),
      }));
    } catch (err) {
      const forbidden = err instanceof ApiError && err.status === 403;
      this.state.set({
        loading: false,
        allowed: !forbidden,
        error: forbidden ? "Join the meeting to read and write its chat." : "The chat history could not be loaded.",
      });
    }
  }

  async loadOlder(): Promise<void> {
    const cursor = this.state.get().olderCursor;
    if (!cursor) return;
    this.state.set({ loading: true });
    try {
      const page = await this.api.chat.history(this.meetingId, { limit: 50, before: cursor });
      this.state.set((s) => ({ messages: mergeMessages(page.messages, s.messages), olderCursor: page.next_cursor, loading: false }));
    } catch {
      this.state.set({ loading: false, error: "Older messages could not be loaded." });
    }
  }

  /** A live `chat-message`. */
  receive(message: ChatMessage): void {
    if (message.meeting_id !== this.meetingId) return;
    this.state.set((s) => ({ messages: mergeMessages(s.messages, [message]) }));
  }

  async send(text: string): Promise<void> {
    const trimmed = text.trim();
    if (!trimmed) return;
    const entry: ChatEntry = {
      message_id: newMessageId(),
      meeting_id: this.meetingId,
      sender_id: this.senderId,
      sender_name: this.senderName,
      text: trimmed.slice(0, 4000),
      posted_at: new Date().toISOString(),
      pending: true,
    };
    await this.post(entry);
  }

  /** Sends a failed message again with the same message_id (a retry the server recognises). */
  async retry(messageId: string): Promise<void> {
    const entry = this.state.get().messages.find((m) => m.message_id === messageId && m.failed);
    if (entry) await this.post({ ...entry, failed: false });
  }

  private async post(entry: ChatEntry): Promise<void> {
    this.state.set((s) => ({ messages: mergeMessages(s.messages, [entry]) }));
    try {
      const saved = await this.posting(() => this.api.chat.post(this.meetingId, entry.message_id, entry.text, entry.sender_name));
      this.state.set((s) => ({ messages: mergeMessages(s.messages, [saved]) }));
    } catch (err) {
      this.state.set((s) => ({ messages: mergeMessages(s.messages, [{ ...entry, failed: true, failure: notSentWords(err) }]) }));
    }
  }
}
