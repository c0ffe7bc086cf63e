import { describe, expect, it } from "vitest";
import type { Conversation, DirectMessage } from "../api/types";
import { unreadCounts } from "./directMessages";

const message = (senderId: string, seq: number): DirectMessage => ({
  conversation_id: `c:${senderId}`,
  message_id: `${senderId}-${seq}`,
  sender_id: senderId,
  sender_name: senderId,
  recipient_id: "me",
  text: `message ${seq}`,
  posted_at: "2026-01-01T10:00:00Z",
  seq,
});

const conversation = (peerId: string, lastSeq: number, readSeq: number, unread: number): Conversation => ({
  conversation_id: `c:${peerId}`,
  peer_id: peerId,
  last_message: lastSeq ? message(peerId, lastSeq) : null,
  read_seq: readSeq,
  unread,
});

describe("unreadCounts", () => {
  it("takes the store's counts when nothing came live", () => {
    const { unread, pending } = unreadCounts([conversation("ada", 5, 2, 3), conversation("bob", 1, 1, 0)], []);
    expect(unread).toEqual({ ada: 3, bob: 0 });
    expect(pending).toEqual([]);
  });

  it("adds a live message the store had not seen when it answered, and keeps it for the next answer", () => {
    const late = message("ada", 6);
    const { unread, pending } = unreadCounts([conversation("ada", 5, 5, 0)], [late]);
    expect(unread).toEqual({ ada: 1 });
    expect(pending).toEqual([late]);
  });

  it("does not count twice a live message the store's answer holds already", () => {
    const { unread, pending } = unreadCounts([conversation("ada", 6, 5, 1)], [message("ada", 6)]);
    expect(unread).toEqual({ ada: 1 });
    expect(pending).toEqual([]);
  });

  it("drops a live message that a read mark covers", () => {
    expect(unreadCounts([conversation("ada", 5, 7, 0)], [message("ada", 7)]).unread).toEqual({ ada: 0 });
  });

  it("counts the first message of a conversation the store did not list yet", () => {
    const { unread, pending } = unreadCounts([], [message("cy", 1)]);
    expect(unread).toEqual({ cy: 1 });
    expect(pending).toHaveLength(1);
  });
});
