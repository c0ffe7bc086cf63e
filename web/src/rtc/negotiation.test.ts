import { describe, expect, it } from "vitest";
import { type Description, type NegotiablePeerConnection, PerfectNegotiator, isPolite } from "./negotiation";

const tick = (ms = 0) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A simulated RTCPeerConnection: the JSEP signaling state machine (stable, have-local-offer,
 * have-remote-offer, implicit rollback), an operations chain, `negotiationneeded` while local
 * changes are not negotiated yet, and ICE candidates that only apply to the description
 * (ufrag) they were gathered for.
 */
class FakePeerConnection implements NegotiablePeerConnection {
  signalingState: RTCSignalingState = "stable";
  localDescription: { type: RTCSdpType; sdp: string } | null = null;
  remoteDescription: Description | null = null;
  onnegotiationneeded: (() => void) | null = null;
  onlocalcandidate: ((candidate: RTCIceCandidateInit) => void) | null = null;
  /** Local changes (tracks added, ...) not yet part of an answered offer. */
  pending = 0;
  applied: RTCIceCandidateInit[] = [];
  private inOffer = 0;
  private seq = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private needScheduled = false;

  constructor(
    readonly name: string,
    private readonly delay: () => number,
  ) {}

  change(): void {
    this.pending += 1;
    this.scheduleNegotiationNeeded();
  }

  private scheduleNegotiationNeeded(): void {
    if (this.needScheduled) return;
    this.needScheduled = true;
    setTimeout(() => {
      this.needScheduled = false;
      // Fired only when stable with an empty operations chain (WebRTC 1.0 §4.7.3).
      if (this.signalingState === "stable" && this.ops === 0 && this.pending > 0) this.onnegotiationneeded?.();
      else if (this.pending > 0 && this.signalingState === "stable") this.scheduleNegotiationNeeded();
    }, 0);
  }

  private op<T>(fn: () => T | Promise<T>): Promise<T> {
    this.ops += 1;
    const next = this.chain.then(async () => {
      await tick(this.delay());
      try {
        return fn();
      } finally {
        this.ops -= 1;
      }
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  private ops = 0;

  /** Marks an ICE restart as a local change still to negotiate. */
  restartIce(): void {
    this.iceRestarts += 1;
    this.change();
  }

  iceRestarts = 0;

  setLocalDescription(description?: { type: "rollback" }): Promise<void> {
    return this.op(() => {
      if (description?.type === "rollback") {
        if (this.signalingState !== "have-local-offer") throw new DOMException("rollback in " + this.signalingState, "InvalidStateError");
        // Our offer is gone, its changes still pending (JSEP §4.1.8.2).
        this.localDescription = null;
        this.inOffer = 0;
        this.signalingState = "stable";
        this.scheduleNegotiationNeeded();
        return;
      }
      if (this.signalingState === "have-remote-offer") {
        this.localDescription = { type: "answer", sdp: `answer:${this.name}:${++this.seq}` };
        this.signalingState = "stable";
        this.scheduleNegotiationNeeded();
      } else {
        if (this.signalingState === "stable") this.inOffer = this.pending;
        this.localDescription = { type: "offer", sdp: `offer:${this.name}:${++this.seq}` };
        this.signalingState = "have-local-offer";
      }
      const gatheredFor = this.localDescription.sdp;
      setTimeout(() => this.onlocalcandidate?.({ candidate: `candidate for ${gatheredFor}`, sdpMid: "0", usernameFragment: this.name }), 0);
    });
  }

  setRemoteDescription(description: Description): Promise<void> {
    return this.op(() => {
      if (description.type === "offer") {
        if (this.signalingState === "have-local-offer") {
          // Implicit rollback (JSEP §4.1.10): our offer is gone, its changes still pending.
          this.localDescription = null;
          this.inOffer = 0;
        }
        this.signalingState = "have-remote-offer";
        this.remoteDescription = description;
        return;
      }
      if (this.signalingState !== "have-local-offer") throw new DOMException("answer in " + this.signalingState, "InvalidStateError");
      this.remoteDescription = description;
      this.signalingState = "stable";
      this.pending -= this.inOffer;
      this.inOffer = 0;
      this.scheduleNegotiationNeeded();
    });
  }

  addIceCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    return this.op(() => {
      // A candidate needs a remote description from its end (same ICE ufrag, no ICE restart).
      const remoteEnd = this.remoteDescription?.sdp.split(":")[1];
      if (!remoteEnd || candidate.usernameFragment !== remoteEnd) {
        throw new DOMException("No remote description for this candidate", "InvalidStateError");
      }
      this.applied.push(candidate);
    });
  }
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Two connections joined by an in-order, delayed signaling channel per direction. */
function pair(random: () => number = () => 0) {
  const delay = () => Math.floor(random() * 3);
  const errors: unknown[] = [];
  let inFlight = 0;
  const ends = ["a", "b"].map((name) => ({ pc: new FakePeerConnection(name, delay), neg: null as unknown as PerfectNegotiator }));
  const [a, b] = ends;
  const channels = new Map<string, Promise<void>>();
  /** Ends whose messages signaling loses (relayed to a participant held during its gap). */
  const lost = new Set<string>();
  const deliver = (to: (typeof ends)[number], from: string, fn: () => Promise<void>) => {
    if (lost.has(from)) return;
    inFlight += 1;
    const prev = channels.get(from) ?? Promise.resolve();
    const next = prev.then(() => tick(delay())).then(fn).finally(() => (inFlight -= 1));
    channels.set(from, next);
    void to;
  };
  for (const [self, other] of [[a, b], [b, a]] as const) {
    self.neg = new PerfectNegotiator(self.pc, isPolite(self.pc.name, other.pc.name), {
      sendDescription: (d) => deliver(other, self.pc.name, () => other.neg.receiveDescription(d)),
      onError: (err) => errors.push(err),
    });
    self.pc.onnegotiationneeded = () => void self.neg.negotiationNeeded();
    self.pc.onlocalcandidate = (c) => deliver(other, self.pc.name, () => other.neg.receiveCandidate(c));
  }
  const settled = async () => {
    for (let i = 0; i < 400; i += 1) {
      await tick(2);
      const quiet = inFlight === 0 && ends.every((e) => e.pc.signalingState === "stable");
      if (quiet) {
        await tick(10);
        if (inFlight === 0 && ends.every((e) => e.pc.signalingState === "stable" && e.pc.pending === 0)) return;
      }
    }
    throw new Error(`did not settle: a=${a.pc.signalingState}/${a.pc.pending} b=${b.pc.signalingState}/${b.pc.pending}`);
  };
  return { a, b, errors, settled, lost };
}

describe("isPolite", () => {
  it("makes exactly one end of a pair polite", () => {
    expect(isPolite("x1", "x2")).toBe(false);
    expect(isPolite("x2", "x1")).toBe(true);
  });
});

describe("PerfectNegotiator", () => {
  it("negotiates a one-sided change", async () => {
    const { a, b, errors, settled } = pair();
    a.pc.change();
    await settled();
    expect(errors).toEqual([]);
    expect(a.neg.stats.offersSent).toBe(1);
    expect(b.neg.stats.answersSent).toBe(1);
    expect(b.pc.applied.length).toBeGreaterThan(0);
  });

  it("resolves glare: the impolite offer wins, the polite end rolls back, then offers again", async () => {
    const { a, b, errors, settled } = pair();
    // b is polite ("b" > "a").
    a.pc.change();
    b.pc.change();
    await settled();
    expect(errors).toEqual([]);
    expect(a.neg.stats.offersIgnored).toBe(1);
    expect(b.neg.stats.rollbacks).toBe(1);
    expect(b.neg.stats.offersSent).toBe(2);
    expect(a.neg.stats.answersSent).toBe(1);
    expect(a.pc.pending).toBe(0);
    expect(b.pc.pending).toBe(0);
  });

  it("always converges without errors under random timing and repeated changes", async () => {
    for (let seed = 1; seed <= 40; seed += 1) {
      const random = seeded(seed);
      const { a, b, errors, settled } = pair(random);
      for (let i = 0; i < 4; i += 1) {
        if (random() < 0.7) a.pc.change();
        if (random() < 0.7) b.pc.change();
        await tick(Math.floor(random() * 4));
      }
      await settled();
      expect(errors, `seed ${seed}`).toEqual([]);
    }
  });

  it("swallows the failure of candidates that belong to an ignored offer", async () => {
    const { a, b, errors, settled } = pair();
    a.pc.change();
    b.pc.change();
    await settled();
    expect(errors).toEqual([]);
    // a (impolite) dropped b's first offer; the candidate gathered for it found no remote
    // description and its failure was expected, not reported.
    expect(a.neg.stats.offersIgnored).toBe(1);
    expect(a.pc.applied.map((c) => c.candidate)).not.toContain("candidate for offer:b:1");
  });

  it("restart: an offer lost in a signaling gap is rolled back and sent again", async () => {
    const { a, b, errors, settled, lost } = pair();
    lost.add("a");
    a.pc.change();
    await tick(20);
    expect(a.pc.signalingState).toBe("have-local-offer"); // waiting for an answer that will never come
    expect(b.neg.stats.answersSent).toBe(0);
    lost.delete("a");
    await a.neg.restart(false);
    await settled();
    expect(errors).toEqual([]);
    expect(a.neg.stats).toMatchObject({ rollbacks: 1, restarts: 1, offersSent: 2 });
    expect(b.neg.stats.answersSent).toBe(1);
    expect(a.pc.iceRestarts).toBe(0);
  });

  it("restart with an ICE restart while both ends restart at once converges (glare)", async () => {
    const { a, b, errors, settled } = pair();
    a.pc.change();
    await settled();
    await Promise.all([a.neg.restart(true), b.neg.restart(true)]);
    await settled();
    expect(errors).toEqual([]);
    expect(a.pc.iceRestarts + b.pc.iceRestarts).toBe(2);
    expect(a.pc.pending).toBe(0);
    expect(b.pc.pending).toBe(0);
  });

  it("stops sending once closed", async () => {
    const { a, b } = pair();
    a.neg.close();
    a.pc.change();
    await tick(20);
    expect(a.neg.stats.offersSent).toBe(0);
    expect(b.pc.signalingState).toBe("stable");
  });
});
