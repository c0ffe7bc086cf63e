import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Peer, type PeerCallbacks } from "./peer";

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Just enough of RTCPeerConnection for Peer: states the test sets, and what Peer asked. */
class FakeRTCPeerConnection extends EventTarget {
  connectionState: RTCPeerConnectionState = "new";
  signalingState: RTCSignalingState = "stable";
  localDescription: { type: RTCSdpType; sdp: string } | null = null;
  readonly calls: string[] = [];
  private readonly transceivers: object[] = [];
  private offers = 0;

  addTransceiver(): object {
    const transceiver = { sender: { track: null, replaceTrack: async () => undefined, getParameters: () => ({ encodings: [] }) } };
    this.transceivers.push(transceiver);
    return transceiver;
  }

  getTransceivers(): object[] {
    return this.transceivers;
  }

  async setLocalDescription(description?: { type: "rollback" }): Promise<void> {
    if (description?.type === "rollback") {
      this.calls.push("rollback");
      this.signalingState = "stable";
      this.localDescription = null;
      return;
    }
    this.calls.push("offer");
    this.signalingState = "have-local-offer";
    this.localDescription = { type: "offer", sdp: `offer ${++this.offers}` };
  }

  restartIce(): void {
    this.calls.push("restartIce");
  }

  close(): void {
    this.connectionState = "closed";
  }

  /** The browser changed the connection's state. */
  become(state: RTCPeerConnectionState): void {
    this.connectionState = state;
    this.dispatchEvent(new Event("connectionstatechange"));
  }
}

function makePeer(initiator: boolean, sendDescription: PeerCallbacks["sendDescription"] = async () => undefined) {
  const peer = new Peer({
    remoteSid: "p-remote",
    polite: true,
    initiator,
    iceServers: [],
    outgoing: { audio: null, video: null, screen: null },
    callbacks: { sendDescription, sendCandidate: async () => undefined, changed: () => undefined },
  });
  return { peer, pc: peer.pc as unknown as FakeRTCPeerConnection };
}

beforeEach(() => {
  vi.stubGlobal("RTCPeerConnection", FakeRTCPeerConnection);
  vi.stubGlobal("MediaStream", class {});
  vi.spyOn(console, "warn").mockImplementation(() => undefined);
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe("Peer.needsRestart / restart (after a signaling gap)", () => {
  it("an initiator whose offer was lost rolls it back and offers again with an ICE restart", async () => {
    const { peer, pc } = makePeer(true);
    await peer.negotiator.negotiationNeeded(); // the first offer, relayed to nobody
    expect(pc.signalingState).toBe("have-local-offer");
    expect(peer.needsRestart()).toBe(true);
    await peer.restart();
    expect(pc.calls).toEqual(["offer", "rollback", "restartIce", "offer"]);
    expect(peer.negotiator.stats.offersSent).toBe(2);
  });

  it("an answering end that never connected leaves it to the initiator", () => {
    const { peer, pc } = makePeer(false);
    pc.become("connecting");
    expect(peer.needsRestart()).toBe(false);
  });

  it("a connection that was up and is not any more restarts ICE, whichever end created it", async () => {
    const { peer, pc } = makePeer(false);
    pc.become("connected");
    expect(peer.needsRestart()).toBe(false);
    pc.become("disconnected");
    expect(peer.needsRestart()).toBe(true);
    await peer.restart();
    expect(pc.calls).toEqual(["restartIce", "offer"]);
  });

  it("a connected peer whose last description was not delivered re-offers without an ICE restart", async () => {
    let up = false;
    const { peer, pc } = makePeer(true, async () => {
      if (!up) throw new Error("Not connected to signaling");
    });
    pc.become("connected");
    await peer.negotiator.negotiationNeeded(); // e.g. a screen share started while signaling was down
    pc.signalingState = "stable"; // even with nothing pending locally, the remote end never saw it
    expect(peer.needsRestart()).toBe(true);
    up = true;
    await peer.restart();
    expect(pc.calls).toEqual(["offer", "offer"]);
    await tick();
    pc.signalingState = "stable";
    expect(peer.needsRestart()).toBe(false);
  });

  it("a closed peer never restarts", () => {
    const { peer, pc } = makePeer(true);
    pc.become("failed");
    peer.close();
    expect(peer.needsRestart()).toBe(false);
  });
});
