/**
 * A reload in a call rejoins it directly (as Meet does), with the microphone and camera as
 * they were and the same display name: this tab's `sessionStorage` remembers them per meeting
 * while the tab is in the call. Leaving with the Leave button, the meeting ending or moving to
 * another window forgets them; a reload (pagehide) does not. Stale after `REJOIN_WINDOW_MS`.
 */

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

export function saveRejoin(meetingId: string, state: Omit<RejoinState, "savedAt">, storage = tabStorage(), now = Date.now()): void {
  try {
    storage?.setItem(key(meetingId), JSON.stringify({ ...state, savedAt: now }));
  } catch {
    /* quota or disabled storage: nothing to remember */
  }
}

/** The state to rejoin `meetingId` with, or null (none, stale or unreadable). */
export function readRejoin(meetingId: string, storage = tabStorage(), now = Date.now()): RejoinState | null {
  let value: unknown;
  try {
    value = JSON.parse(storage?.getItem(key(meetingId)) ?? "null");
  } catch {
    return null;
  }
  if (!value || typeof value !== "object") return null;
  const v = value as Record<string, unknown>;
  if (typeof v.micOn !== "boolean" || typeof v.cameraOn !== "boolean" || typeof v.displayName !== "string") return null;
  if (typeof v.savedAt !== "number" || now - v.savedAt > REJOIN_WINDOW_MS || v.savedAt > now + 60_000) return null;
  return { micOn: v.micOn, cameraOn: v.cameraOn, displayName: v.displayName.slice(0, 80), savedAt: v.savedAt };
}

export function forgetRejoin(meetingId: string, storage = tabStorage()): void {
  try {
    storage?.removeItem(key(meetingId));
  } catch {
    /* nothing to forget */
  }
}
