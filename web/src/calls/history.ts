import type { Call } from "../api/types";

/** A history entry's outcome in words, from the viewer's side. */
export function describeCall(call: Call): string {
  const outgoing = call.direction === "outgoing";
  switch (call.state) {
    case "missed":
      return outgoing ? "No answer" : "Missed call";
    case "declined":
      return outgoing ? "Declined" : "You declined";
    case "cancelled":
      return outgoing ? "You cancelled" : "Cancelled by the caller";
    case "ended":
      return outgoing ? "Outgoing call" : "Incoming call";
    case "escalated":
      return "Became a meeting";
    case "accepted":
      return "In progress";
    case "ringing":
      return "Ringing";
  }
}

/** The display names `calls` (newest first, as the API lists them) carry, by user id, the
 * newest for each: every caller's, and a callee's once they answered. So a call to someone the
 * caller's list no longer names (a removed contact) is named by another call with them. */
export function namesOnCalls(calls: readonly Call[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const call of calls) {
    if (!names.has(call.caller_id)) names.set(call.caller_id, call.caller_name);
    if (call.callee_name !== null && !names.has(call.callee_id)) names.set(call.callee_id, call.callee_name);
  }
  return names;
}

/** The other person of a history entry. The callee's name is on the call only once they
 * answered (docs/http-api.md, "Calls"); before that the caller's own list names them
 * (`names`: user id → display name, e.g. the contacts), else the name is null. */
export function partnerOf(call: Call, names: ReadonlyMap<string, string>): { id: string; name: string | null } {
  if (call.direction === "incoming") return { id: call.caller_id, name: call.caller_name };
  return { id: call.callee_id, name: call.callee_name ?? names.get(call.callee_id) ?? null };
}

/** When the call was placed, short: a time today, else a date and time. */
export function formatCallTime(iso: string, now: Date = new Date()): string {
  const at = new Date(iso);
  const sameDay = at.toDateString() === now.toDateString();
  return sameDay
    ? at.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })
    : at.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}
