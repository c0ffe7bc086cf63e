import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Api, Meeting, User } from "../api";
import { Store } from "../lib/store";
import type { LocalMedia } from "../media/local";
import type { Ack, PeerInfo, RaisedHand, Recorder } from "../signaling/types";
import { FakeSocket, fakePeers, fakeRecordingBrowser } from "../testing/fakes";
import { REACTION_MS, RoomSession } from "./session";

const settle = async () => {
  for (let i = 0; i < 5; i += 1) await new Promise<void>((resolve) => setTimeout(resolve, 0));
};
const info = (sid: string): PeerInfo => ({ sid, user_id: `user-${sid}`, display_name: `Name ${sid}` });
const MEETING = "meeting-1";

type JoinAnswer = {
  participant_id?: string;
  resumed?: boolean;
  peers: PeerInfo[];
  hands?: RaisedHand[];
  recordings?: Recorder[];
  spotlight?: string | null;
};

/** A room session on a fake socket and fake peer connections; the test plays signaling. */
async function room() {
  const socket = new FakeSocket();
  const peers = fakePeers();
  const joins: JoinAnswer[] = [];
  socket.responder = (event): Ack<unknown> => {
    if (event !== "join") return { ok: true, data: {} };
    const answer = joins.shift();
    if (!answer) throw new Error("the test gave no join answer");
    return { ok: true, data: { meeting_id: MEETING, replica_id: "signaling-1", ...answer } };
  };
  const history = vi.fn(async () => ({ messages: [], next_cursor: null }));
  const api = {
    http: { accessToken: async () => "token", refresh: async () => "token" },
    chat: { history, notes: async () => ({ meeting_id: MEETING, text: "", updated_at: null }) },
    turn: { credentials: async () => ({ iceServers: [], ttl: 3600, expires_at: new Date(Date.now() + 3_600_000).toISOString() }) },
  } as unknown as Api;
  const media = {
    current: { audio: null, video: null, screen: null, revision: 0 },
    state: new Store({ revision: 0 }),
    mediaState: () => ({ audio: true, video: false, screen: false }),
  } as unknown as LocalMedia;
  const session = new RoomSession({
    api,
    user: { user_id: "user-self", email: "self@example.com", display_name: "Self" } as User,
    meeting: { meeting_id: MEETING, title: "Resume", host_id: "user-p-a" } as Meeting,
    role: "participant",
    displayName: "Self",
    media,
    createSocket: () => socket.asSocket(),
    createPeer: peers.create,
  });
  await session.start();
  return { session, socket, peers, joins, history };
}

/** In a call as participant "s1": "p-a" was there before us (it called us), "p-c" came after. */
async function inCall() {
  const t = await room();
  t.joins.push({ participant_id: "s1", resumed: false, peers: [info("p-a"), info("s1")] });
  t.socket.open("s1");
  await settle();
  t.socket.serverEmit("offer", { meeting_id: MEETING, from: "p-a", sdp: "offer from a" });
  t.socket.serverEmit("peer-joined", { meeting_id: MEETING, ...info("p-c") });
  await settle();
  expect(t.peers.made.map((p) => p.remoteSid)).toEqual(["p-a", "p-c"]);
  return t;
}

beforeEach(() => vi.stubGlobal("window", new EventTarget()));
afterEach(() => vi.unstubAllGlobals());

describe("RoomSession: resumable participant session", () => {
  it("joins resumable, and after a reconnection resumes its participant id", async () => {
    const t = await inCall();
    expect(t.socket.sent("join")).toEqual([{ meeting_id: MEETING, display_name: "Self", resumable: true }]);
    expect(t.session.state.get().selfSid).toBe("s1");
    t.socket.drop();
    t.joins.push({ participant_id: "s1", resumed: true, peers: [info("p-a"), info("s1"), info("p-c")] });
    t.socket.open("s2");
    await settle();
    expect(t.socket.sent("join")[1]).toEqual({ meeting_id: MEETING, display_name: "Self", resumable: true, resume: "s1" });
    expect(t.session.state.get().selfSid).toBe("s1"); // the others know us by the participant id
    t.session.close();
  });

  it("keeps the peer connections while the socket is down and after it resumed", async () => {
    const t = await inCall();
    t.socket.drop();
    await settle();
    expect(t.peers.made.some((p) => p.closed)).toBe(false);
    expect(t.session.state.get().participants.map((p) => p.sid)).toEqual(["p-a", "p-c"]);
    const mediaStates = t.socket.sent("media-state").length;
    const histories = t.history.mock.calls.length;
    t.joins.push({ participant_id: "s1", resumed: true, peers: [info("p-a"), info("s1"), info("p-c")] });
    t.socket.open("s2");
    await settle();
    expect(t.peers.made.map((p) => [p.remoteSid, p.closed])).toEqual([
      ["p-a", false],
      ["p-c", false],
    ]);
    expect(t.socket.sent("media-state").length).toBe(mediaStates + 1); // what we said during the gap was lost
    expect(t.history.mock.calls.length).toBe(histories + 1); // messages sent while we were away
    t.session.close();
  });

  it("prunes those who left and calls those who joined while we were away", async () => {
    const t = await inCall();
    t.socket.drop();
    t.joins.push({ participant_id: "s1", resumed: true, peers: [info("s1"), info("p-c"), info("p-d")] });
    t.socket.open("s2");
    await settle();
    expect(t.peers.made.map((p) => [p.remoteSid, p.closed, p.initiator])).toEqual([
      ["p-a", true, false],
      ["p-c", false, true],
      ["p-d", false, true],
    ]);
    expect(t.session.state.get().participants.map((p) => p.sid)).toEqual(["p-c", "p-d"]);
    t.session.close();
  });

  it("after a resume, politeness towards a newcomer comes from our participant id, not the new socket's sid", async () => {
    const t = await inCall();
    t.socket.drop();
    t.joins.push({ participant_id: "s1", resumed: true, peers: [info("p-a"), info("s1"), info("p-c")] });
    t.socket.open("s2");
    await settle();
    t.socket.serverEmit("peer-joined", { meeting_id: MEETING, ...info("s15") });
    await settle();
    // "s1" < "s15" < "s2": the newcomer computes isPolite("s15", "s1") = true, so we must be impolite
    expect(t.peers.to("s15").map((p) => p.polite)).toEqual([false]);
    t.session.close();
  });

  it("not resumed: closes every connection and starts over with the new participant id", async () => {
    const t = await inCall();
    t.socket.drop();
    t.joins.push({ participant_id: "s2", resumed: false, peers: [info("p-a"), info("p-c"), info("s2")] });
    t.socket.open("s2");
    await settle();
    expect(t.peers.made.every((p) => p.closed)).toBe(true);
    expect(t.session.state.get().selfSid).toBe("s2");
    expect(t.session.mesh.self).toBe("s2");
    // the others now call the new participant
    t.socket.serverEmit("offer", { meeting_id: MEETING, from: "p-a", sdp: "offer again" });
    await settle();
    expect(t.peers.to("p-a").map((p) => p.closed)).toEqual([true, false]);
    t.session.close();
  });

  it("a server without resumable sessions: the socket's sid is the id, every reconnection starts over", async () => {
    const t = await room();
    t.joins.push({ peers: [info("p-a"), info("s1")] });
    t.socket.open("s1");
    await settle();
    t.socket.serverEmit("offer", { meeting_id: MEETING, from: "p-a", sdp: "offer" });
    await settle();
    expect(t.session.mesh.self).toBe("s1");
    t.socket.drop();
    t.joins.push({ peers: [info("p-a"), info("s2")] });
    t.socket.open("s2");
    await settle();
    expect(t.peers.made.every((p) => p.closed)).toBe(true);
    expect(t.session.mesh.self).toBe("s2");
    t.session.close();
  });

  it("peer-resumed: sends our media state again and renegotiates a stalled connection", async () => {
    const t = await inCall();
    const [toA] = t.peers.to("p-a");
    const [toC] = t.peers.to("p-c");
    toC.stalled = true;
    const before = t.socket.sent("media-state").length;
    t.socket.serverEmit("peer-resumed", { meeting_id: MEETING, ...info("p-c") });
    t.socket.serverEmit("peer-resumed", { meeting_id: MEETING, ...info("p-a") });
    await settle();
    expect(t.socket.sent("media-state").length).toBe(before + 2);
    expect([toA.restarts, toC.restarts]).toEqual([0, 1]);
    expect(t.peers.made.some((p) => p.closed)).toBe(false);
    t.session.close();
  });

  it("draining: reconnects at once and resumes, the connections untouched", async () => {
    const t = await inCall();
    const connects = t.socket.connects;
    t.socket.serverEmit("draining", { replica_id: "signaling-1" });
    expect(t.socket.connects).toBe(connects + 1);
    t.joins.push({ participant_id: "s1", resumed: true, peers: [info("p-a"), info("s1"), info("p-c")] });
    t.socket.open("s2", "signaling-2");
    await settle();
    expect(t.socket.sent("join").at(-1)).toMatchObject({ resume: "s1" });
    expect(t.peers.made.some((p) => p.closed)).toBe(false);
    expect(t.session.state.get().connection).toBe("connected");
    t.session.close();
  });

  it("participant-moved: another window has the call; this one closes everything and does not reconnect", async () => {
    const t = await inCall();
    const connects = t.socket.connects;
    t.socket.serverEmit("participant-moved", { meeting_id: MEETING });
    await settle();
    expect(t.session.state.get().phase).toBe("moved");
    expect(t.peers.made.every((p) => p.closed)).toBe(true);
    expect(t.socket.connects).toBe(connects);
    expect(t.socket.sent("leave")).toEqual([]); // the participant is the other window's now
  });

  it("a join answered participant_moved (two windows joined at once, the other won): moved, no retry", async () => {
    const t = await room();
    t.socket.responder = () => ({ ok: false, error: { code: "participant_moved", message: "another window" } });
    t.socket.open("s1");
    await settle();
    expect(t.session.state.get().phase).toBe("moved");
    expect(t.socket.sent("join")).toHaveLength(1);
    expect(t.socket.sent("leave")).toEqual([]);
  });

  it("pagehide: sends leave at once (best effort)", async () => {
    const t = await inCall();
    window.dispatchEvent(new Event("pagehide"));
    expect(t.socket.sent("leave")).toEqual([{ meeting_id: MEETING }]);
    expect(t.session.state.get().phase).toBe("left");
  });
});

const hand = (sid: string): RaisedHand => ({ sid, user_id: `user-${sid}`, raised_at: "2030-01-01T00:00:00Z" });

describe("RoomSession: hands and reactions", () => {
  it("takes the hands from the join, then from each hands event, and drops a leaver's", async () => {
    const t = await room();
    t.joins.push({ participant_id: "s1", peers: [info("p-a"), info("p-c")], hands: [hand("p-c"), hand("p-a")] });
    t.socket.open("s1");
    await settle();
    expect(t.session.state.get().hands.map((h) => h.sid)).toEqual(["p-c", "p-a"]);
    await t.session.setHand(true);
    expect(t.socket.sent("raise-hand")).toEqual([{ meeting_id: MEETING }]);
    expect(t.session.handRaised).toBe(false); // only the server's hands event raises it
    t.socket.serverEmit("hands", { meeting_id: MEETING, sid: "s1", raised: true, lowered_by: null, hands: [hand("p-c"), hand("p-a"), hand("s1")] });
    await settle();
    expect(t.session.handRaised).toBe(true);
    t.socket.serverEmit("peer-left", { meeting_id: MEETING, sid: "p-c", user_id: "user-p-c", reason: "left" });
    await settle();
    expect(t.session.state.get().hands.map((h) => h.sid)).toEqual(["p-a", "s1"]);
    await t.session.lowerHandOf("p-a");
    expect(t.socket.sent("lower-hand")).toEqual([{ meeting_id: MEETING, sid: "p-a" }]);
    t.session.close();
  });

  it("takes the spotlight from the join, then from each spotlight event, and drops a leaver's", async () => {
    const t = await room();
    t.joins.push({ participant_id: "s1", peers: [info("p-a"), info("p-c")], spotlight: "p-c" });
    t.socket.open("s1");
    await settle();
    expect(t.session.state.get().spotlight).toBe("p-c");
    await t.session.setSpotlight("p-a");
    expect(t.socket.sent("spotlight")).toEqual([{ meeting_id: MEETING, sid: "p-a" }]);
    expect(t.session.state.get().spotlight).toBe("p-c"); // only the server's event moves it
    t.socket.serverEmit("spotlight", { meeting_id: MEETING, sid: "p-a", by: "p-a" });
    await settle();
    expect(t.session.state.get().spotlight).toBe("p-a");
    t.socket.serverEmit("peer-left", { meeting_id: MEETING, sid: "p-a", user_id: "user-p-a", reason: "left" });
    await settle();
    expect(t.session.state.get().spotlight).toBeNull();
    t.socket.responder = () => ({ ok: false, error: { code: "forbidden", message: "host only" } });
    await t.session.setSpotlight(null);
    expect(t.session.state.get().notice).toBe("The spotlight could not be removed.");
    t.session.close();
  });

  it("shows a reaction over its sender for a few seconds, and says so when rate limited", async () => {
    const t = await room();
    t.joins.push({ participant_id: "s1", peers: [info("p-a")] });
    t.socket.open("s1");
    await settle();
    vi.useFakeTimers();
    try {
      t.socket.serverEmit("reaction", { meeting_id: MEETING, sid: "p-a", user_id: "user-p-a", emoji: "🎉", at: "2030-01-01T00:00:00Z" });
      expect(t.session.state.get().reactions.map((r) => [r.sid, r.emoji])).toEqual([["p-a", "🎉"]]);
      vi.advanceTimersByTime(REACTION_MS + 10);
      expect(t.session.state.get().reactions).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
    t.socket.responder = () => ({ ok: false, error: { code: "rate_limited", message: "slow down" } });
    await t.session.react("👍");
    expect(t.session.state.get().notice).toMatch(/Too many at once/);
    t.session.close();
  });
});

describe("RoomSession: who records", () => {
  const recorder = (sid: string): Recorder => ({ sid, user_id: `user-${sid}`, display_name: `Name ${sid}`, started_at: "2030-01-01T00:00:00Z" });

  it("takes the recorders from the join, then from each recording event, and drops a leaver", async () => {
    const t = await room();
    t.joins.push({ participant_id: "s1", peers: [info("p-a"), info("p-c")], recordings: [recorder("p-c")] });
    t.socket.open("s1");
    await settle();
    expect(t.session.state.get().recordings.map((r) => r.sid)).toEqual(["p-c"]);
    t.socket.serverEmit("recording", { meeting_id: MEETING, sid: "p-a", active: true, recordings: [recorder("p-c"), recorder("p-a")] });
    t.socket.serverEmit("recording", { meeting_id: "another", sid: "p-x", active: true, recordings: [recorder("p-x")] });
    await settle();
    expect(t.session.state.get().recordings.map((r) => r.display_name)).toEqual(["Name p-c", "Name p-a"]);
    t.socket.serverEmit("peer-left", { meeting_id: MEETING, sid: "p-c", user_id: "user-p-c", reason: "left" });
    await settle();
    expect(t.session.state.get().recordings.map((r) => r.sid)).toEqual(["p-a"]);
    t.session.close();
    expect(t.session.state.get().recordings).toEqual([]);
  });

  it("records: Recording only once the recorder started, the room told; an empty file is refused in words", async () => {
    const browser = fakeRecordingBrowser(vi.stubGlobal);
    const t = await room();
    t.joins.push({ participant_id: "s1", peers: [info("p-a")] });
    t.socket.open("s1");
    await settle();
    t.session.startRecording();
    const [recorder] = browser.recorders;
    expect(recorder.calls).toEqual(["start 1000"]);
    expect(recorder.stream.getTracks().map((track) => track.kind)).toEqual(["video", "audio"]); // the canvas and the mix
    expect(t.session.state.get().recording).toBe("starting");
    expect(t.socket.sent("recording")).toEqual([]);
    recorder.fire("start");
    expect(t.session.state.get().recording).toBe("recording");
    expect(t.socket.sent("recording")).toEqual([{ meeting_id: MEETING, active: true }]);

    const stopped = t.session.stopRecording(); // nothing was handed over: an empty file
    expect(t.session.state.get().recording).toBe("stopping");
    await stopped;
    expect(recorder.calls).toEqual(["start 1000", "requestData", "stop"]);
    expect(t.socket.sent("recording")).toEqual([{ meeting_id: MEETING, active: true }, { meeting_id: MEETING, active: false }]);
    expect(t.session.state.get()).toMatchObject({ recording: "off", recordingUrl: null, notice: expect.stringMatching(/recording is empty/) });
    expect(browser.downloads).toEqual([]);

    t.session.startRecording(); // a real one this time
    const second = browser.recorders[1];
    second.fire("start");
    second.data(new Blob([new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, 1, 2, 3])]));
    await t.session.stopRecording();
    expect(browser.downloads).toEqual([t.session.state.get().recordingName]);
    expect(t.session.state.get().recordingName).toMatch(/^parley-resume-.*\.webm$/);
    t.session.close();
  });

  it("says so when the browser cannot record", async () => {
    const t = await room();
    t.session.startRecording(); // no MediaRecorder here
    expect(t.session.state.get()).toMatchObject({ recording: "off", notice: "Recording is not available in this browser." });
    t.session.close();
  });
});
