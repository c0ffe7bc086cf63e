import { describe, expect, it } from "vitest";
import { rosterChanges, ToastQueue } from "./toasts";

/** Timers run by hand: `advance(ms)` fires those due. */
function manualClock() {
  let now = 0;
  const due = new Map<number, { at: number; fn: () => void }>();
  let ids = 0;
  return {
    setTimeout: (fn: () => void, ms: number) => {
      due.set(++ids, { at: now + ms, fn });
      return ids;
    },
    clearTimeout: (handle: unknown) => void due.delete(handle as number),
    advance(ms: number) {
      now += ms;
      for (const [id, t] of [...due]) {
        if (t.at <= now) {
          due.delete(id);
          t.fn();
        }
      }
    },
    pending: () => due.size,
  };
}

describe("join and leave toasts", () => {
  it("names who joined and who left, by user (a new socket of the same user is neither)", () => {
    const before = new Map([
      ["u1", "Ada"],
      ["u2", "Grace"],
    ]);
    const after = new Map([
      ["u2", "Grace"],
      ["u3", "Linus"],
    ]);
    expect(rosterChanges(before, after)).toEqual({ joined: ["Linus"], left: ["Ada"] });
    expect(rosterChanges(before, new Map(before))).toEqual({ joined: [], left: [] });
  });

  it("shows a toast for a while, then drops it", () => {
    const clock = manualClock();
    const queue = new ToastQueue(4_000, 4, clock);
    queue.show("Grace joined", "joined");
    expect(queue.state.get().toasts.map((t) => t.text)).toEqual(["Grace joined"]);
    clock.advance(3_999);
    expect(queue.state.get().toasts).toHaveLength(1);
    clock.advance(1);
    expect(queue.state.get().toasts).toHaveLength(0);
  });

  it("keeps at most `max`, the newest, and forgets the timers of those pushed out", () => {
    const clock = manualClock();
    const queue = new ToastQueue(4_000, 2, clock);
    for (const name of ["A", "B", "C"]) queue.show(`${name} joined`, "joined");
    expect(queue.state.get().toasts.map((t) => t.text)).toEqual(["B joined", "C joined"]);
    expect(clock.pending()).toBe(2);
    queue.close();
    expect(queue.state.get().toasts).toEqual([]);
    expect(clock.pending()).toBe(0);
  });
});
