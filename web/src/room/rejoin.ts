/**
 * A reload in a call rejoins it directly (as Meet does), with the microphone and camera as
 * they were and the same display name: this tab's `sessionStorage` remembers them per meeting
 * while the tab is in the call. Leaving with the Leave button, the meeting ending or moving to
 * another window forgets them; a reload (pagehide) does not. Stale after `REJOIN_WINDOW_MS`.
 *
 * A guest has no refresh token, so its token would die with the page and a reload would make
 * it a new guest, who asks for a name again and waits in the lobby again. The tab keeps the
 * guest's token for the meeting it was issued for (`GuestPass`) from the moment it is issued
 * until `forgetRejoin` (Leave, the meeting ending, removal, a failure) or the host's refusal,
 * so a reload brings back the same guest: back in the call, or on the pre-join with its name.
 * Only this tab sees it (`sessionStorage` is per tab and gone with it); it is a token valid
 * for one meeting for at most `PARLEY_GUEST_TOKEN_TTL_SECONDS` (docs/http-api.md, "Guests").
 */
import type { GuestToken } from "../api/types";

export interface RejoinState {
  micOn: boolean;
  cameraOn: boolean;
  displayName: string;
  /** When it was last written (ms since the epoch). */
  savedAt: number;
}

/** A reload later than this after the last write opens the pre-join screen instead. */
export const REJOIN_WINDOW_MS = 10 * 60_000;

const key = (meetingId: string) => `parley.rejoin.${meetingId}`;

function tabStorage(): Storage | null {
  try {
    return typeof window !== "undefined" && window.sessionStorage ? window.sessionStorage : null;
  } catch {
    return null; // storage disabled: reloads show the pre-join screen
  }
}

/** Writes `value` as JSON under `entry`; quota or disabled storage: nothing is remembered. */
function writeEntry(storage: Storage | null, entry: string, value: object): void {
  try {
    storage?.setItem(entry, JSON.stringify(value));
  } catch {
    /* nothing to remember */
  }
}

/** The JSON object under `entry`, or null (none, unreadable, or not an object). */
function readEntry(storage: Storage | null, entry: string): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(storage?.getItem(entry) ?? "null");
  } catch {
    return null;
  }
  return value && typeof value === "object" ? (value as Record<string, unknown>) : null;
}

export function saveRejoin(meetingId: string, state: Omit<RejoinState, "savedAt">, storage = tabStorage(), now = Date.now()): void {
  writeEntry(storage, key(meetingId), { ...state, savedAt: now });
}

/** The state to rejoin `meetingId` with, or null (none, stale or unreadable). */
export function readRejoin(meetingId: string, storage = tabStorage(), now = Date.now()): RejoinState | null {
  const v = readEntry(storage, key(meetingId));
  if (!v) return null;
  if (typeof v.micOn !== "boolean" || typeof v.cameraOn !== "boolean" || typeof v.displayName !== "string") return null;
  if (typeof v.savedAt !== "number" || now - v.savedAt > REJOIN_WINDOW_MS || v.savedAt > now + 60_000) return null;
  return { micOn: v.micOn, cameraOn: v.cameraOn, displayName: v.displayName.slice(0, 80), savedAt: v.savedAt };
}

/** Forgets the rejoin state and the guest pass of `meetingId`. */
export function forgetRejoin(meetingId: string, storage = tabStorage()): void {
  try {
    storage?.removeItem(key(meetingId));
    storage?.removeItem(guestKey(meetingId));
  } catch {
    /* nothing to forget */
  }
}

/** A guest token of this tab, for the one meeting it was issued for. */
export interface GuestPass {
  accessToken: string;
  /** When the token expires (ms since the epoch). */
  expiresAt: number;
  userId: string;
  displayName: string;
}

/** The pass of a guest token `POST /api/auth/guests` just issued. */
export function guestPassOf(token: GuestToken, now = Date.now()): GuestPass {
  return {
    accessToken: token.access_token,
    expiresAt: now + token.expires_in * 1000,
    userId: token.guest.user_id,
    displayName: token.guest.display_name,
  };
}

/** A pass with less than this left is not used: it would expire in the call. */
export const GUEST_PASS_MARGIN_MS = 60_000;

const guestKey = (meetingId: string) => `parley.guest.${meetingId}`;

/** Without storage (quota, disabled) a reload makes a new guest. */
export function saveGuestPass(meetingId: string, pass: GuestPass, storage = tabStorage()): void {
  writeEntry(storage, guestKey(meetingId), pass);
}

/** The guest pass of `meetingId`, or null (none, about to expire, or unreadable). */
export function readGuestPass(meetingId: string, storage = tabStorage(), now = Date.now()): GuestPass | null {
  const v = readEntry(storage, guestKey(meetingId));
  if (!v) return null;
  if (typeof v.accessToken !== "string" || typeof v.userId !== "string" || typeof v.displayName !== "string") return null;
  if (typeof v.expiresAt !== "number" || v.expiresAt - GUEST_PASS_MARGIN_MS <= now) return null;
  return { accessToken: v.accessToken, expiresAt: v.expiresAt, userId: v.userId, displayName: v.displayName };
}
