import { useEffect, useRef, useState } from "preact/hooks";
import type { Api, DirectMessage } from "../api";
import type { SignalingClient } from "../signaling/client";

/**
 * Unread direct messages per contact, kept from chat's API and the user socket: the list is read
 * when the page opens and again after every (re)connection of the socket (a live event missed
 * while it was away is then counted from the store: docs/signaling.md, "Direct messages"), and
 * after a read mark from any of the user's sockets. A message from someone whose conversation is
 * not open, or while the page is hidden, counts one more and shows a browser notification when
 * the user allowed them.
 */
export function useUnreadMessages(api: Api, socket: SignalingClient | null, selfId: string | undefined, openPeer: string | null) {
  const [unread, setUnread] = useState<Record<string, number>>({});
  const open = useRef(openPeer);
  open.current = openPeer;
  const counted = useRef(new Set<string>());

  const reload = async () => {
    try {
      const conversations = await api.directMessages.conversations();
      setUnread(Object.fromEntries(conversations.map((c) => [c.peer_id, c.unread])));
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
      if (!seen) setUnread((current) => ({ ...current, [message.sender_id]: (current[message.sender_id] ?? 0) + 1 }));
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
  /** The conversation with `peerId` was read here. */
  const cleared = (peerId: string) => setUnread((current) => ({ ...current, [peerId]: 0 }));
  return { unread, total, cleared };
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
