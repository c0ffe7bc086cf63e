import { describe, expect, it } from "vitest";
import { type Api, ApiError } from "../api";
import type { Call, CallList } from "../api/types";
import { CallCenter } from "./center";
import { describeCall, namesOnCalls, partnerOf } from "./history";

const call = (over: Partial<Call> = {}): Call => ({
  call_id: "c1",
  direction: "incoming",
  state: "ringing",
  caller_id: "ada",
  caller_name: "Ada",
  callee_id: "bob",
  callee_name: null,
  room_id: "abcd-efgh-ijkl",
  created_at: "2026-01-01T10:00:00Z",
  ring_deadline: "2999-01-01T10:00:30Z",
  answered_at: null,
  ended_at: null,
  ended_by: null,
  ...over,
});

/** A fake of the calls API: `list` answers `live`; `place` runs `placing`. */
function fakeApi(live: Call[] = [], placing: () => Promise<Call> = async () => call({ direction: "outgoing" })): Api {
  return { calls: { list: async (): Promise<CallList> => ({ live, history: [] }), place: placing } } as unknown as Api;
}

describe("CallCenter", () => {
  it("shows a ringing call of the API at start (a reload keeps it)", async () => {
    const center = new CallCenter(fakeApi([call()]), "bob");
    await center.refresh();
    expect(center.state.get().incoming?.caller_name).toBe("Ada");
    center.stop();
  });

  it("rings on the socket's event and stops when the caller cancels", () => {
    const center = new CallCenter(fakeApi(), "bob");
    const event = { ...call(), at: "2026-01-01T10:00:00Z" };
    (center as unknown as { apply: (e: unknown) => void }).apply(event);
    expect(center.state.get().incoming?.call_id).toBe("c1");
    (center as unknown as { apply: (e: unknown) => void }).apply({ ...event, state: "cancelled" });
    expect(center.state.get().incoming).toBeNull();
  });

  it("says busy when the callee is in a call", async () => {
    const busy = async (): Promise<Call> => {
      throw new ApiError(409, "busy", "in another call");
    };
    const center = new CallCenter(fakeApi([], busy), "ada");
    await center.place("bob", "Bob");
    expect(center.state.get().outgoing).toEqual({ call: null, name: "Bob", outcome: "busy" });
  });

  it("keeps the Calling screen when the list is read while the call is being placed", async () => {
    let answer: (c: Call) => void = () => undefined;
    const center = new CallCenter(fakeApi([], () => new Promise<Call>((resolve) => (answer = resolve))), "ada");
    const placing = center.place("bob", "Bob");
    await center.refresh(); // e.g. the socket (re)connected meanwhile
    expect(center.state.get().outgoing?.name).toBe("Bob");
    answer(call({ direction: "outgoing", caller_id: "ada", callee_id: "bob" }));
    await placing;
    expect(center.state.get().outgoing?.call?.call_id).toBe("c1");
    center.stop();
  });

  it("never applies a list read that was on its way while the call was placed", async () => {
    let listed: (l: CallList) => void = () => undefined;
    const api = {
      calls: {
        list: () => new Promise<CallList>((resolve) => (listed = resolve)),
        place: async () => call({ direction: "outgoing", caller_id: "ada", callee_id: "bob" }),
      },
    } as unknown as Api;
    const center = new CallCenter(api, "ada");
    const reading = center.refresh(); // asked before the call existed
    await center.place("bob", "Bob");
    const stale = listed;
    stale({ live: [], history: [] }); // ... answered after it was placed: read again
    const ringing = call({ direction: "outgoing", caller_id: "ada", callee_id: "bob" });
    await Promise.resolve();
    listed({ live: [ringing], history: [] });
    await reading;
    expect(center.state.get().outgoing?.call?.call_id).toBe("c1");
    center.stop();
  });

  it("tells the caller a decline or no answer", () => {
    const center = new CallCenter(fakeApi(), "ada");
    center.state.set({ outgoing: { call: call({ direction: "outgoing" }), name: "Bob", outcome: null } });
    (center as unknown as { apply: (e: unknown) => void }).apply({ ...call(), state: "missed", at: "" });
    expect(center.state.get().outgoing?.outcome).toBe("missed");
  });
});

describe("describeCall", () => {
  it("words each outcome from the viewer's side", () => {
    expect(describeCall(call({ state: "missed" }))).toBe("Missed call");
    expect(describeCall(call({ state: "missed", direction: "outgoing" }))).toBe("No answer");
    expect(describeCall(call({ state: "declined", direction: "outgoing" }))).toBe("Declined");
  });
});

describe("partnerOf", () => {
  it("names the callee of an unanswered outgoing call from the caller's contacts", () => {
    const names = new Map([["bob", "Bob"]]);
    expect(partnerOf(call({ direction: "outgoing", state: "declined" }), names)).toEqual({ id: "bob", name: "Bob" });
    expect(partnerOf(call({ direction: "outgoing", state: "missed" }), new Map())).toEqual({ id: "bob", name: null });
    expect(partnerOf(call({ direction: "outgoing", state: "ended", callee_name: "Bob B." }), names).name).toBe("Bob B.");
    expect(partnerOf(call({ state: "missed" }), names)).toEqual({ id: "ada", name: "Ada" });
  });
});

describe("namesOnCalls", () => {
  it("names a callee who never answered by another call with them, the newest name first", () => {
    // Bob's history with Cy, who is no longer his contact: newest first
    const toCy = (over: Partial<Call>) =>
      call({ direction: "outgoing", caller_id: "bob", caller_name: "Bob", callee_id: "cy", ...over });
    const calls = [
      toCy({ call_id: "c3", state: "cancelled" }),
      call({ call_id: "c2", state: "missed", caller_id: "cy", caller_name: "Cy", callee_id: "bob" }),
      toCy({ call_id: "c1", state: "ended", callee_name: "Cy Old" }),
    ];
    const names = namesOnCalls(calls);
    expect(names).toEqual(new Map([["bob", "Bob"], ["cy", "Cy"]]));
    expect(partnerOf(calls[0], names)).toEqual({ id: "cy", name: "Cy" });
    expect(partnerOf(calls[0], namesOnCalls([calls[0], calls[2]])).name).toBe("Cy Old");
    expect(namesOnCalls([calls[0]]).has("cy")).toBe(false); // nothing names Cy: the page says "Unknown contact"
  });
});
