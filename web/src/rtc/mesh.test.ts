import { describe, expect, it, vi } from "vitest";
import type { SignalingClient } from "../signaling/client";
import type { PeerInfo } from "../signaling/types";
import { fakePeers } from "../testing/fakes";
import { Mesh, videoBitrateFor } from "./mesh";
import { isPolite } from "./negotiation";

describe("videoBitrateFor", () => {
  it("shares a 2.5 Mbit/s uplink between the peers of the mesh, within 300 kbit/s – 1.2 Mbit/s", () => {
    expect(videoBitrateFor(1)).toBe(1_200_000);
    expect(videoBitrateFor(2)).toBe(1_200_000);
    expect(videoBitrateFor(3)).toBe(833_333);
    expect(videoBitrateFor(5)).toBe(500_000);
    expect(videoBitrateFor(20)).toBe(300_000);
    expect(videoBitrateFor(0)).toBe(1_200_000);
  });
});

const info = (sid: string, user = `user-${sid}`): PeerInfo => ({ sid, user_id: user, display_name: `Name ${sid}` });

function mesh() {
  const peers = fakePeers();
  const onChange = vi.fn();
  const m = new Mesh({
    signaling: {} as SignalingClient, // fake peers never signal
    meetingId: "m1",
    iceServers: () => [],
    outgoing: () => ({ audio: null, video: null, screen: null }),
    onChange,
    createPeer: peers.create,
  });
  return { m, peers, onChange };
}

/** The room as in the issue: we are participant "p-b"; "p-a" was there before us, "p-c" came after. */
function inCall() {
  const t = mesh();
  t.m.reset("p-b", [info("p-a"), info("p-b")]);
  void t.m.handleOffer("p-a", "offer from a"); // the one before us calls us
  t.m.peerJoined(info("p-c")); // we call the one after us
  return t;
}

describe("Mesh: politeness from participant ids", () => {
  it("computes perfect-negotiation politeness from our participant id and theirs", () => {
    const { m, peers } = mesh();
    m.reset("p-m", [info("p-a"), info("p-z")]);
    void m.handleOffer("p-a", "sdp");
    void m.handleOffer("p-z", "sdp");
    expect(m.self).toBe("p-m");
    expect(peers.to("p-a")[0].polite).toBe(true); // "p-m" > "p-a"
    expect(peers.to("p-z")[0].polite).toBe(false);
  });

  it("keeps the participant id, not a new socket's sid, after a resume", () => {
    const { m, peers } = inCall();
    m.resume("p-b", [info("p-a"), info("p-b"), info("p-c"), info("p-d")]);
    const [toD] = peers.to("p-d");
    expect(toD.polite).toBe(isPolite("p-b", "p-d"));
    expect(m.self).toBe("p-b");
  });
});

describe("Mesh.resume", () => {
  it("keeps every connection to a participant still in the room", () => {
    const { m, peers } = inCall();
    const before = [...peers.made];
    m.resume("p-b", [info("p-a"), info("p-b"), info("p-c")]);
    expect(before.every((p) => !p.closed)).toBe(true);
    expect(peers.made).toEqual(before); // no new connection
    expect(m.participants().map((p) => p.sid)).toEqual(["p-a", "p-c"]);
  });

  it("closes the connections to participants who left while we were away", () => {
    const { m, peers } = inCall();
    m.resume("p-b", [info("p-b"), info("p-c")]);
    expect(peers.to("p-a")[0].closed).toBe(true);
    expect(peers.to("p-c")[0].closed).toBe(false);
    expect(m.participants().map((p) => p.sid)).toEqual(["p-c"]);
  });

  it("calls a participant who joined while we were away (it waits for our offer)", () => {
    const { m, peers, onChange } = inCall();
    onChange.mockClear();
    m.resume("p-b", [info("p-a"), info("p-b"), info("p-c"), info("p-d")]);
    const toD = peers.to("p-d");
    expect(toD).toHaveLength(1);
    expect(toD[0].initiator).toBe(true);
    expect(m.participants().map((p) => p.sid)).toEqual(["p-a", "p-c", "p-d"]);
    expect(onChange).toHaveBeenCalled();
  });

  it("leaves a known participant that has not called us yet to call again (no crossing first offers)", () => {
    const { m, peers } = mesh();
    m.reset("p-b", [info("p-a"), info("p-b")]); // p-a's offer was lost during our gap
    m.resume("p-b", [info("p-a"), info("p-b")]);
    expect(peers.made).toHaveLength(0);
    expect(m.participants().map((p) => [p.sid, p.connectionState])).toEqual([["p-a", "waiting"]]);
  });

  it("negotiates again only the kept connections that need it", () => {
    const { m, peers } = inCall();
    const [toA] = peers.to("p-a");
    const [toC] = peers.to("p-c");
    toC.stalled = true;
    m.resume("p-b", [info("p-a"), info("p-b"), info("p-c")]);
    expect(toA.restarts).toBe(0);
    expect(toC.restarts).toBe(1);
  });

  it("reset (not resumed) closes every connection, as before", () => {
    const { m, peers } = inCall();
    m.reset("p-new", [info("p-a"), info("p-c"), info("p-new")]);
    expect(peers.made.every((p) => p.closed)).toBe(true);
    expect(m.participants().map((p) => [p.sid, p.connectionState])).toEqual([
      ["p-a", "waiting"],
      ["p-c", "waiting"],
    ]);
  });
});

describe("Mesh.peerResumed", () => {
  it("restarts a connection that is not up or whose negotiation was pending, and only that", () => {
    const { m, peers } = inCall();
    const [toA] = peers.to("p-a");
    const [toC] = peers.to("p-c");
    m.peerResumed(info("p-a"));
    expect(toA.restarts).toBe(0);
    toC.stalled = true;
    m.peerResumed(info("p-c"));
    expect(toC.restarts).toBe(1);
    expect(peers.made.every((p) => !p.closed)).toBe(true);
    expect(m.participants().map((p) => p.sid)).toEqual(["p-a", "p-c"]);
  });

  it("adds a resumed participant it did not know, without calling it (it calls us)", () => {
    const { m, peers } = inCall();
    const count = peers.made.length;
    m.peerResumed(info("p-x"));
    expect(peers.made).toHaveLength(count);
    expect(m.participants().map((p) => p.sid)).toEqual(["p-a", "p-c", "p-x"]);
  });
});
