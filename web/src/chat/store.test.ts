import { describe, expect, it } from "vitest";
import type { ChatEntry } from "./merge";
import type { Api } from "../api";
import { ApiError } from "../api/http";
import { ChatStore, type ChatState, newestSeq, unreadCount } from "./store";

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

describe("sending", () => {
  it("posts quick sends one at a time, in the order typed, showing each at once", async () => {
    const posted: string[] = [];
    const answers: Array<() => void> = [];
    const api = {
      chat: {
        post: (meetingId: string, messageId: string, text: string, senderName: string) => {
          posted.push(text);
          return new Promise((resolve) => {
            answers.push(() => resolve({ message_id: messageId, meeting_id: meetingId, sender_id: "me", sender_name: senderName, text, posted_at: "2026-12-04T10:00:00Z", seq: posted.length }));
          });
        },
      },
    } as unknown as Api;
    const chat = new ChatStore(api, "m");
    chat.setSender("me", "Me");
    const sends = ["one", "two", "three"].map((text) => chat.send(text));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(chat.state.get().messages.map((m) => m.text)).toEqual(["one", "two", "three"]);
    expect(posted).toEqual(["one"]);
    while (answers.length) {
      answers.shift()!();
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    await Promise.all(sends);
    expect(posted).toEqual(["one", "two", "three"]);
    expect(chat.state.get().messages.every((m) => !m.pending)).toBe(true);
  });
});

describe("a message the post limit refused", () => {
  it("is kept as not sent, says why, and goes through on retry", async () => {
    let refuse = true;
    const api = {
      chat: {
        post: async (meetingId: string, messageId: string, text: string, senderName: string) => {
          if (refuse) throw new ApiError(429, "too_many_messages", "you are sending messages too fast; try again in 3 seconds", 3);
          return { message_id: messageId, meeting_id: meetingId, sender_id: "me", sender_name: senderName, text, posted_at: "2026-12-06T10:00:00Z", seq: 1 };
        },
      },
    } as unknown as Api;
    const chat = new ChatStore(api, "m");
    chat.setSender("me", "Me");
    await chat.send("hello");
    const [failed] = chat.state.get().messages;
    expect(failed).toMatchObject({ text: "hello", failed: true, failure: "Not sent: you are sending messages too fast. Wait 3 seconds." });
    refuse = false;
    await chat.retry(failed.message_id);
    expect(chat.state.get().messages).toMatchObject([{ message_id: failed.message_id, seq: 1 }]);
    expect(chat.state.get().messages[0].failed).toBeFalsy();
  });
});
