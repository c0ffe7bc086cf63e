import type { ChatMessage } from "../api/types";

/** A message as the chat panel holds it: confirmed by the server, or still being sent. */
export interface ChatEntry extends ChatMessage {
  /** Sent by this client, not confirmed by the server yet. */
  pending?: boolean;
  /** Sending failed; retrying sends the same message_id again (the server dedupes it). */
  failed?: boolean;
  /** Why, in words (chat/failure.ts). */
  failure?: string;
}

/** What merging needs of a message: a meeting's (`ChatEntry`) or a direct one. */
export interface Mergeable {
  message_id: string;
  posted_at: string;
  seq?: number;
  pending?: boolean;
}

const time = (entry: Mergeable) => {
  const t = Date.parse(entry.posted_at);
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
};

/**
 * Merges messages from any source (a history page, a live `chat-message`, the answer to our
 * own POST, our own optimistic copy) into one list without duplicates: one entry per
 * `message_id`, the server's copy winning over a pending local one, in the meeting's order
 * (`seq`, the order the server stored them in; `posted_at` for a copy without one) with the
 * still-pending ones last, in the order they were written. Delivery is idempotent here: an
 * event the server re-published (the same `message_id` again) changes nothing.
 */
export function mergeMessages<T extends Mergeable = ChatEntry>(current: readonly T[], incoming: readonly T[]): T[] {
  const byId = new Map<string, T>();
  const order = new Map<string, number>();
  let seq = 0;
  for (const entry of [...current, ...incoming]) {
    const existing = byId.get(entry.message_id);
    if (!order.has(entry.message_id)) order.set(entry.message_id, seq++);
    if (!existing) {
      byId.set(entry.message_id, entry);
    } else if (existing.pending && !entry.pending) {
      byId.set(entry.message_id, entry); // confirmed by the server
    } else if (existing.pending && entry.pending) {
      byId.set(entry.message_id, entry); // a newer local state (failed → retrying)
    }
    // A pending copy never replaces a confirmed one; a confirmed duplicate changes nothing.
  }
  const entries = [...byId.values()];
  const confirmed = entries.filter((e) => !e.pending);
  const pending = entries.filter((e) => e.pending);
  confirmed.sort(
    (a, b) =>
      (a.seq !== undefined && b.seq !== undefined ? a.seq - b.seq : time(a) - time(b)) ||
      a.message_id.localeCompare(b.message_id),
  );
  pending.sort((a, b) => order.get(a.message_id)! - order.get(b.message_id)!);
  return [...confirmed, ...pending];
}

/** A client-chosen message id: 22 characters of [A-Za-z0-9_-] (the API allows 8–64). */
export function newMessageId(random: (bytes: Uint8Array<ArrayBuffer>) => Uint8Array = (b) => crypto.getRandomValues(b)): string {
  const bytes = random(new Uint8Array(16));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
