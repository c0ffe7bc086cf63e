import { describe, expect, it } from "vitest";
import type { ChatEntry } from "./merge";
import { mergeMessages, newMessageId } from "./merge";

const msg = (id: string, at: string, extra: Partial<ChatEntry> = {}): ChatEntry => ({
  message_id: id,
  meeting_id: "m",
  sender_id: "u",
  sender_name: "Ada",
  text: `text ${id}`,
  posted_at: at,
  ...extra,
});

const ids = (entries: ChatEntry[]) => entries.map((e) => e.message_id);

describe("mergeMessages", () => {
  it("orders a newest-first history page oldest first", () => {
    const page = [msg("c", "2026-01-01T10:02:00Z"), msg("b", "2026-01-01T10:01:00Z"), msg("a", "2026-01-01T10:00:00Z")];
    expect(ids(mergeMessages([], page))).toEqual(["a", "b", "c"]);
  });

  it("orders by the meeting's seq, not by the clock that stamped posted_at", () => {
    // two chat replicas: seq 2 was stamped a millisecond before seq 1
    const live = [msg("second", "2026-01-01T10:00:00.001Z", { seq: 2 }), msg("first", "2026-01-01T10:00:00.002Z", { seq: 1 })];
    expect(ids(mergeMessages([], live))).toEqual(["first", "second"]);
    expect(ids(mergeMessages([msg("third", "2026-01-01T09:00:00Z", { seq: 3 })], live))).toEqual(["first", "second", "third"]);
  });

  it("shows a re-published live event once (delivery is idempotent by message id)", () => {
    const event = msg("a", "2026-01-01T10:00:00Z", { seq: 1 });
    const once = mergeMessages([], [event]);
    const twice = mergeMessages(mergeMessages(once, [msg("b", "2026-01-01T10:00:01Z", { seq: 2 })]), [{ ...event }]);
    expect(ids(twice)).toEqual(["a", "b"]);
    expect(twice.filter((e) => e.message_id === "a")).toHaveLength(1);
  });

  it("keeps one copy of a message that arrives live and again in the history", () => {
    const live = [msg("b", "2026-01-01T10:01:00Z")];
    const history = [msg("b", "2026-01-01T10:01:00Z"), msg("a", "2026-01-01T10:00:00Z")];
    const merged = mergeMessages(live, history);
    expect(ids(merged)).toEqual(["a", "b"]);
    expect(ids(mergeMessages(merged, live))).toEqual(["a", "b"]);
  });

  it("replaces our pending copy with the server's, whichever comes first (POST answer or live event)", () => {
    const pending = msg("mine", "2026-01-01T09:00:00Z", { pending: true });
    const confirmed = msg("mine", "2026-01-01T10:05:00Z");
    const afterLive = mergeMessages([msg("a", "2026-01-01T10:00:00Z"), pending], [confirmed]);
    expect(afterLive.find((e) => e.message_id === "mine")).toEqual(confirmed);
    // The POST answer arriving afterwards (or a retry's pending state) changes nothing.
    expect(mergeMessages(afterLive, [confirmed])).toEqual(afterLive);
    expect(mergeMessages(afterLive, [{ ...pending, failed: true }])).toEqual(afterLive);
  });

  it("puts pending messages last, in the order they were written", () => {
    const merged = mergeMessages(
      [msg("p2", "2026-01-01T12:00:00Z", { pending: true }), msg("a", "2026-01-01T10:00:00Z")],
      [msg("p1", "2026-01-01T09:00:00Z", { pending: true }), msg("b", "2026-01-01T11:00:00Z")],
    );
    expect(ids(merged)).toEqual(["a", "b", "p2", "p1"]);
  });

  it("compares timestamps with different UTC offsets as instants", () => {
    const merged = mergeMessages([], [msg("x", "2026-01-01T11:00:00+02:00"), msg("y", "2026-01-01T10:00:00Z")]);
    expect(ids(merged)).toEqual(["x", "y"]);
  });

  it("merges an older page in front of what is there", () => {
    const recent = mergeMessages([], [msg("c", "2026-01-01T10:02:00Z"), msg("d", "2026-01-01T10:03:00Z")]);
    const older = [msg("b", "2026-01-01T10:01:00Z"), msg("a", "2026-01-01T10:00:00Z")];
    expect(ids(mergeMessages(recent, older))).toEqual(["a", "b", "c", "d"]);
  });

  it("lets a failed pending copy be marked as retrying", () => {
    const failed = msg("p", "2026-01-01T10:00:00Z", { pending: true, failed: true });
    const retrying = { ...failed, failed: false };
    expect(mergeMessages([failed], [retrying])[0].failed).toBe(false);
  });
});

describe("newMessageId", () => {
  it("is 22 characters the chat API accepts", () => {
    const id = newMessageId();
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(newMessageId()).not.toBe(id);
  });
  it("uses the URL-safe alphabet", () => {
    expect(newMessageId((b) => b.fill(0xff))).toBe("_____________________w");
  });
});
