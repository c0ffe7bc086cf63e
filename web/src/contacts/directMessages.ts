import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { Api, Conversation, DirectMessage } from "../api";
import { STALE, latestOnly } from "../lib/latest";
import type { SignalingClient } from "../signaling/client";

/**
 * Unread direct messages per contact, kept from chat's API and the user socket: the list is read
 * when the page opens and again after every (re)connection of the socket (a live event missed
 * while it was away is then counted from the store: docs/signaling.md, "Direct messages"), and
 * after a read mark from any of the user's sockets. A message from someone whose conversation is
 * not open, or while the page is hidden, counts one more and shows a browser notification when
 * the user allowed them. The list may have been read before a message that arrived live while
 * it was on its way: such a message still counts (`unreadCounts`), and only the latest list
 * request's answer is taken.
 */
export function useUnreadMessages(api: Api, socket: SignalingClient | null, selfId: string | undefined, openPeer: string | null) {
  const [unread, setUnread] = useState<Record<string, number>>({});
  const open = useRef(openPeer);
  open.current = openPeer;
  const counted = useRef(new Set<string>());
  const live = useRef<DirectMessage[]>([]); // counted live, perhaps after the store's answer was read
  const latest = useMemo(latestOnly, []);

  const reload = async () => {
    try {
      const conversations = await latest(() => api.directMessages.conversations());
      if (conversations === STALE) return; // a later reload answers for the store
      const counts = unreadCounts(conversations, live.current);
      live.current = counts.pending;
      setUnread(counts.unread);
    } catch {
      // kept as it was; the next reconnection or read mark reads it again
    }
  };

  useEffect(() => {
    void reload();
  }, []);

  useEffect(() => {
    if (!socket) return;
    const offMessage = socket.on("direct-message", (message) => {
      if (message.sender_id === selfId || counted.current.has(message.message_id)) return;
      counted.current.add(message.message_id);
      const seen = open.current === message.sender_id && !document.hidden;
      if (!seen) {
        live.current = [...live.current, message];
        setUnread((current) => ({ ...current, [message.sender_id]: (current[message.sender_id] ?? 0) + 1 }));
      }
      if (!seen || document.hidden) notify(message);
    });
    const offRead = socket.on("direct-message-read", () => void reload());
    const offSession = socket.onSession(() => void reload());
    return () => {
      offMessage();
      offRead();
      offSession();
    };
  }, [socket, selfId]);

  const total = Object.values(unread).reduce((sum, n) => sum + n, 0);
  /** A read mark's answer: the conversation's count after it, and what came live since. */
  const read = (conversation: Conversation) => {
    const counts = unreadCounts([conversation], live.current.filter((m) => m.sender_id === conversation.peer_id));
    live.current = [...live.current.filter((m) => m.sender_id !== conversation.peer_id), ...counts.pending];
    setUnread((current) => ({ ...current, ...counts.unread }));
  };
  return { unread, total, read };
}

/**
 * The unread count per peer from chat's list of conversations and the messages counted live:
 * a live message newer than its conversation's `last_message` in the list arrived after the
 * store was read, so it counts on top of the list's `unread`; such messages stay `pending` for
 * the next list, the others are in the list's count already.
 */
export function unreadCounts(
  conversations: Conversation[],
  live: DirectMessage[],
): { unread: Record<string, number>; pending: DirectMessage[] } {
  const newest = new Map(conversations.map((c) => [c.peer_id, Math.max(c.last_message?.seq ?? 0, c.read_seq)]));
  const pending = live.filter((m) => (m.seq ?? Infinity) > (newest.get(m.sender_id) ?? 0));
  const unread: Record<string, number> = Object.fromEntries(conversations.map((c) => [c.peer_id, c.unread]));
  for (const m of pending) unread[m.sender_id] = (unread[m.sender_id] ?? 0) + 1;
  return { unread, pending };
}

/** A browser notification of a new message, when the user allowed them (Notification API). */
function notify(message: DirectMessage): void {
  if (typeof Notification === "undefined" || Notification.permission !== "granted") return;
  try {
    new Notification(`New message from ${message.sender_name}`, { body: message.text, tag: message.conversation_id });
  } catch {
    // some browsers allow notifications from a service worker only
  }
}

/** Ask for the permission to notify, once, on a user's gesture (opening a conversation). */
export function askToNotify(): void {
  if (typeof Notification !== "undefined" && Notification.permission === "default") void Notification.requestPermission();
}
