import { ApiError, type Api } from "../api";
import type { Call, CallState } from "../api/types";
import { navigate } from "../app/router";
import { Store } from "../lib/store";
import { SignalingClient } from "../signaling/client";
import type { ServerEvents } from "../signaling/types";

/** A call as the overlay shows it: the API's call or the socket's `call` event. */
export interface CallView {
  call_id: string;
  state: CallState;
  caller_id: string;
  caller_name: string;
  callee_id: string;
  /** The API's call has it once the callee answered; the socket's event does not. */
  callee_name?: string | null;
  room_id: string;
}

/** How an outgoing call ended before it was answered. */
export type Outcome = "declined" | "missed" | "busy" | "caller-busy" | "not-a-contact" | "failed";

export interface CallCenterState {
  /** A call ringing this user. */
  incoming: CallView | null;
  /** This user's call that rings the other (`outcome` once it failed), with the callee's name. */
  outgoing: { call: CallView | null; name: string; outcome: Outcome | null } | null;
  /** An accepted call of this user (a "return to the call" bar outside its room). */
  active: CallView | null;
  /** Calls of this user that became meetings while this page was open (their rooms are ordinary meetings now). */
  escalated: string[];
  /** Bumped by every call change: the call history reads itself again. */
  version: number;
}

const NAMES_KEY = "parley.call-names";
/** setTimeout's longest delay (a signed 32-bit count of milliseconds). */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * The user's direct calls for every signed-in page (docs/http-api.md, "Calls"). It opens no
 * socket of its own: the page's socket (the app's user socket, or a meeting room's) is
 * attached, and the `call` events arrive through it (docs/signaling.md, "Calls").
 * `GET /api/calls` is read at start, after every
 * (re)connection of an attached socket and at the ring deadline of a call seen without one,
 * so a call that rang while the page loaded or was away still shows.
 */
export class CallCenter {
  readonly state = new Store<CallCenterState>({ incoming: null, outgoing: null, active: null, escalated: [], version: 0 });
  private deadlineTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  /** Bumped by every change that did not come from the list (placing, a socket event): a list
   * read that was on its way meanwhile is stale and is read again instead of applied. */
  private changes = 0;

  constructor(
    private readonly api: Api,
    readonly userId: string,
  ) {}

  start(): void {
    void this.refresh();
  }

  stop(): void {
    this.stopped = true;
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
  }

  /** Take the `call` events of a page's socket; returns the detach function. */
  attach(signaling: SignalingClient): () => void {
    const offCall = signaling.on("call", (event) => this.apply(event));
    const offSession = signaling.onSession(() => void this.refresh());
    return () => {
      offCall();
      offSession();
    };
  }

  /** Read the live calls from the API (the state survives a reload). */
  async refresh(): Promise<void> {
    const seen = this.changes;
    let live: Call[];
    try {
      live = (await this.api.calls.list()).live;
    } catch {
      return;
    }
    if (this.stopped) return;
    if (seen !== this.changes) return this.refresh(); // it may predate what changed meanwhile
    // without a socket nothing tells this page that a ringing call ended: look again at its deadline
    const ringing = live.filter((c) => c.state === "ringing").map((c) => Date.parse(c.ring_deadline));
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, Math.min(...ringing) - Date.now()) + 2_000);
    this.deadlineTimer = ringing.length ? setTimeout(() => void this.refresh(), wait) : null;
    const ringingIn = live.find((c) => c.state === "ringing" && c.callee_id === this.userId) ?? null;
    const ringingOut = live.find((c) => c.state === "ringing" && c.caller_id === this.userId) ?? null;
    const active = live.find((c) => c.state === "accepted") ?? null;
    // this page's outgoing call was answered while its socket was away: go to the room, as the event would
    const answered = active && active.call_id === this.state.get().outgoing?.call?.call_id;
    this.state.set((s) => ({
      incoming: ringingIn,
      outgoing: ringingOut
        ? { call: ringingOut, name: s.outgoing?.name ?? this.nameOf(ringingOut.call_id) ?? "your contact", outcome: null }
        : s.outgoing && (!s.outgoing.call || s.outgoing.outcome)
          ? s.outgoing // being placed (its answer is on its way), or its outcome still shown
          : null,
      active,
      version: s.version + 1,
    }));
    if (answered) navigate(`/m/${active.room_id}`);
  }

  /** Ring `calleeId` (shown as `name`); a refusal shows in the outgoing screen. */
  async place(calleeId: string, name: string): Promise<void> {
    this.changes++;
    this.state.set({ outgoing: { call: null, name, outcome: null } });
    try {
      const call = await this.api.calls.place(calleeId);
      this.changes++;
      this.rememberName(call.call_id, name);
      this.state.set((s) => ({ outgoing: s.outgoing && !s.outgoing.call ? { call, name, outcome: s.outgoing.outcome } : s.outgoing }));
    } catch (err) {
      const code = err instanceof ApiError ? err.code : "";
      const outcome: Outcome =
        code === "busy" ? "busy" : code === "already_in_call" ? "caller-busy" : code === "not_a_contact" ? "not-a-contact" : "failed";
      this.state.set({ outgoing: { call: null, name, outcome } });
    }
  }

  async accept(): Promise<void> {
    const call = this.state.get().incoming;
    if (!call) return;
    try {
      const accepted = await this.api.calls.accept(call.call_id);
      this.state.set({ incoming: null, active: accepted });
      navigate(`/m/${accepted.room_id}`);
    } catch {
      this.state.set({ incoming: null });
      void this.refresh();
    }
  }

  async decline(): Promise<void> {
    const call = this.state.get().incoming;
    if (!call) return;
    this.state.set({ incoming: null });
    await this.api.calls.decline(call.call_id).catch(() => undefined);
  }

  async cancel(): Promise<void> {
    const out = this.state.get().outgoing;
    this.state.set({ outgoing: null });
    if (out?.call) await this.api.calls.cancel(out.call.call_id).catch(() => undefined);
  }

  /** Hang up the accepted call `callId` (its room ends for both). */
  async hangUp(callId: string): Promise<void> {
    await this.api.calls.end(callId).catch(() => undefined);
    this.state.set((s) => ({ active: s.active?.call_id === callId ? null : s.active }));
  }

  /** Turn the accepted call `callId` into a meeting to invite more people; false if refused. */
  async escalate(callId: string): Promise<boolean> {
    try {
      const call = await this.api.calls.escalate(callId);
      this.changes++;
      this.settle(call.call_id, call.state);
      return true;
    } catch {
      return false;
    }
  }

  dismiss(): void {
    this.state.set({ outgoing: null });
  }

  private apply(event: ServerEvents["call"]): void {
    this.changes++;
    const s = this.state.get();
    const incoming = event.callee_id === this.userId;
    if (incoming) {
      if (event.state === "ringing") this.state.set({ incoming: event });
      else if (s.incoming?.call_id === event.call_id) this.state.set({ incoming: null });
    } else {
      const mine = s.outgoing?.call?.call_id === event.call_id || (s.outgoing && !s.outgoing.call && !s.outgoing.outcome);
      if (event.state === "accepted" && mine) {
        this.state.set({ outgoing: null, active: event });
        navigate(`/m/${event.room_id}`);
      } else if ((event.state === "declined" || event.state === "missed") && mine) {
        this.state.set({ outgoing: { call: event, name: s.outgoing?.name ?? "", outcome: event.state } });
      } else if (event.state === "cancelled" && mine) {
        this.state.set({ outgoing: null });
      }
    }
    if (event.state === "accepted" && incoming && s.active?.call_id !== event.call_id) this.state.set({ active: event });
    this.settle(event.call_id, event.state);
  }

  /** A call's change that may take it out of the live states (no more "return to the call"). */
  private settle(callId: string, state: CallState): void {
    if (state === "ended" || state === "cancelled" || state === "declined" || state === "missed" || state === "escalated") {
      if (this.state.get().active?.call_id === callId) this.state.set({ active: null });
    }
    if (state === "escalated") this.state.set((s) => ({ escalated: s.escalated.includes(callId) ? s.escalated : [...s.escalated, callId] }));
    this.state.set((st) => ({ version: st.version + 1 }));
  }

  /** The name of the other person in `call`: the caller's, or the callee's as the API or this
   * tab knows it ("your contact" when neither does). */
  partnerName(call: CallView): string {
    if (call.callee_id === this.userId) return call.caller_name;
    return call.callee_name ?? this.nameOf(call.call_id) ?? "your contact";
  }

  private rememberName(callId: string, name: string): void {
    try {
      const names = JSON.parse(window.sessionStorage.getItem(NAMES_KEY) ?? "{}") as Record<string, string>;
      window.sessionStorage.setItem(NAMES_KEY, JSON.stringify({ ...names, [callId]: name }));
    } catch {
      // no storage: a reload shows "your contact"
    }
  }

  private nameOf(callId: string): string | null {
    try {
      return (JSON.parse(window.sessionStorage.getItem(NAMES_KEY) ?? "{}") as Record<string, string>)[callId] ?? null;
    } catch {
      return null;
    }
  }
}
