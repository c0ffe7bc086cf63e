import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeSocket } from "../testing/fakes";
import { DRAINING_RETRY_MAX_MS, DRAINING_RETRY_MIN_MS, MOVE_GRACE_MS, SignalingClient } from "./client";
import type { ConnectionState } from "./types";

function client() {
  const socket = new FakeSocket();
  const refreshToken = vi.fn(async () => "fresh");
  const signaling = new SignalingClient({
    getToken: async () => "token",
    refreshToken,
    createSocket: () => socket.asSocket(),
  });
  const states: ConnectionState[] = [];
  signaling.onState((s) => states.push(s));
  const sessions: Array<[string, boolean]> = [];
  signaling.onSession((s, resumed) => sessions.push([s.sid, resumed]));
  signaling.connect();
  return { signaling, socket, states, sessions, refreshToken };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("SignalingClient: drain", () => {
  it("on `draining` it moves at once: disconnect, connect, a new session", () => {
    const { signaling, socket, states, sessions } = client();
    socket.open("s1", "signaling-2");
    expect(socket.connects).toBe(1);
    socket.serverEmit("draining", { replica_id: "signaling-2" });
    expect(socket.disconnects).toBe(1);
    expect(socket.connects).toBe(2); // without waiting for the server to close the socket
    socket.open("s2", "signaling-1");
    expect(signaling.sid).toBe("s2");
    expect(sessions).toEqual([
      ["s1", false],
      ["s2", true],
    ]);
    // a planned move is not shown as a lost connection
    expect(states).toEqual(["connected"]);
    signaling.close();
  });

  it("shows `reconnecting` when the move takes longer than the grace time", () => {
    const { signaling, socket, states } = client();
    socket.open("s1");
    socket.serverEmit("draining", { replica_id: "signaling-1" });
    vi.advanceTimersByTime(MOVE_GRACE_MS - 1);
    expect(signaling.state).toBe("connected");
    vi.advanceTimersByTime(1);
    expect(signaling.state).toBe("reconnecting");
    socket.open("s2");
    expect(states).toEqual(["connected", "reconnecting", "connected"]);
    signaling.close();
  });

  it("retries a session refused with `draining` after 50–250 ms, not after the back-off", () => {
    for (const random of [0, 0.5, 0.999]) {
      vi.spyOn(Math, "random").mockReturnValue(random);
      const { signaling, socket } = client();
      socket.open("s1");
      socket.drop();
      for (let attempt = 0; attempt < 4; attempt += 1) {
        const connects = socket.connects;
        socket.refuse("draining");
        vi.advanceTimersByTime(DRAINING_RETRY_MIN_MS - 1);
        expect(socket.connects, `attempt ${attempt} at random ${random}`).toBe(connects);
        vi.advanceTimersByTime(DRAINING_RETRY_MAX_MS - DRAINING_RETRY_MIN_MS + 1);
        expect(socket.connects, `attempt ${attempt} at random ${random}`).toBe(connects + 1);
      }
      socket.open("s2");
      expect(signaling.connected).toBe(true);
      signaling.close();
      vi.restoreAllMocks();
    }
  });

  it("still backs off for other refusals (500 ms, then longer)", () => {
    const { signaling, socket } = client();
    socket.refuse("unavailable");
    vi.advanceTimersByTime(DRAINING_RETRY_MAX_MS);
    expect(socket.connects).toBe(1);
    vi.advanceTimersByTime(500 - DRAINING_RETRY_MAX_MS);
    expect(socket.connects).toBe(2);
    socket.refuse("unavailable");
    vi.advanceTimersByTime(999);
    expect(socket.connects).toBe(2);
    vi.advanceTimersByTime(1);
    expect(socket.connects).toBe(3);
    signaling.close();
  });
});

describe("SignalingClient: session ended elsewhere", () => {
  it("on `session-ended` it closes for good and reports the reason: no reconnection, no refresh", () => {
    const socket = new FakeSocket();
    const refreshToken = vi.fn(async () => "fresh");
    const ended: string[] = [];
    const signaling = new SignalingClient({
      getToken: async () => "token",
      refreshToken,
      onSessionEnded: (reason) => ended.push(reason),
      createSocket: () => socket.asSocket(),
    });
    signaling.connect();
    socket.open("s1");
    socket.serverEmit("session-ended", { reason: "replaced" });
    expect(ended).toEqual(["replaced"]);
    expect(socket.disconnects).toBe(1);
    expect(signaling.state).toBe("offline");
    vi.advanceTimersByTime(60_000); // longer than any back-off
    expect(socket.connects).toBe(1);
    expect(refreshToken).not.toHaveBeenCalled();
  });
});
