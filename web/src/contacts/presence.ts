import type { ContactList, Presence } from "../api/types";
import type { ServerEvents } from "../signaling/types";

/** The contact list with one contact's presence replaced by a `presence` event's (unknown users: unchanged). */
export function applyPresence(list: ContactList, event: ServerEvents["presence"]): ContactList {
  if (!list.contacts.some((c) => c.user.user_id === event.user_id)) return list;
  const presence: Presence = { state: event.state, last_seen: event.last_seen };
  return {
    ...list,
    contacts: list.contacts.map((c) => (c.user.user_id === event.user_id ? { ...c, presence } : c)),
  };
}

/** "Online", "In a call", "Offline · last seen 5 min ago" (or a date beyond a day, "never" when unknown). */
export function describePresence(presence: Presence | null, now: number): string {
  if (presence?.state === "online") return "Online";
  if (presence?.state === "in_call") return "In a call";
  return `Offline · last seen ${lastSeen(presence?.last_seen ?? null, now)}`;
}

export function lastSeen(iso: string | null, now: number): string {
  if (!iso) return "never";
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return "never";
  const seconds = Math.max(0, Math.round((now - at) / 1000));
  if (seconds < 60) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  return new Date(at).toLocaleString(undefined, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}
