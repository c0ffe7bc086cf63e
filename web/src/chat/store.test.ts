import { describe, expect, it } from "vitest";
import type { ChatEntry } from "./merge";
import { type ChatState, newestSeq, unreadCount } from "./store";

const msg = (seq: number | undefined, sender = "other"): ChatEntry => ({
  message_id: `m${seq}-${sender}`,
  meeting_id: "m",
  sender_id: sender,
  sender_name: sender,
  text: "t",
  posted_at: "2026-12-02T10:00:00Z",
  seq,
});
const state = (messages: ChatEntry[], baselineSeq: number | null): ChatState => ({
  messages,
  olderCursor: null,
  loading: false,
  error: null,
  allowed: true,
  baselineSeq,
});

describe("unread messages", () => {
  it("the history the room started with is not unread (Leave, then Rejoin)", () => {
    expect(unreadCount(state([msg(1), msg(2), msg(3)], 3), "me", 0)).toBe(0);
  });
  it("counts others' newer messages, not one's own, nor pending ones", () => {
    const s = state([msg(1), msg(2), msg(3, "me"), msg(4), msg(undefined, "me")], 1);
    expect(unreadCount(s, "me", 0)).toBe(2);
    expect(unreadCount(s, "me", 2)).toBe(1);
  });
  it("older pages loaded later add nothing; nothing before the first page", () => {
    expect(unreadCount(state([msg(1), msg(2), msg(10)], 10), "me", 0)).toBe(0);
    expect(unreadCount(state([msg(5)], null), "me", 0)).toBe(0);
    expect(newestSeq([msg(2), msg(undefined), msg(7)])).toBe(7);
  });
});
