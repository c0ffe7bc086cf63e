// The perfect negotiation pattern (W3C WebRTC 1.0 §10.7, MDN "Establishing a connection: the
// perfect negotiation pattern"): both ends may start a negotiation whenever they need one;
// when two offers cross ("glare"), the impolite end ignores the incoming offer and keeps its
// own, the polite end rolls its own back (implicitly, in setRemoteDescription) and answers.
// The pattern only needs the standard RTCPeerConnection operations, so it is written here
// against the narrow interface below and unit-tested with a simulated connection.

export type Description = { type: "offer" | "answer"; sdp: string };

/** The part of RTCPeerConnection the negotiation uses. */
export interface NegotiablePeerConnection {
  readonly signalingState: RTCSignalingState;
  readonly localDescription: { type: RTCSdpType; sdp: string } | null;
  /** No argument: the implicit offer or answer; `{type: "rollback"}` drops our pending offer. */
  setLocalDescription(description?: { type: "rollback" }): Promise<void>;
  /** Marks the next offer as an ICE restart (and fires `negotiationneeded`). */
  restartIce(): void;
  setRemoteDescription(description: Description): Promise<void>;
  addIceCandidate(candidate: RTCIceCandidateInit): Promise<void>;
}

export interface NegotiatorHooks {
  /** Sends our offer or answer to the remote end. */
  sendDescription(description: Description): void | Promise<void>;
  /** Runs after a remote offer is applied and before it is answered (attach local tracks). */
  beforeAnswer?(): void | Promise<void>;
  onError?(err: unknown): void;
}

/** Polite is the end with the larger id (any rule both ends compute alike would do). */
export function isPolite(ownId: string, remoteId: string): boolean {
  return ownId > remoteId;
}

export class PerfectNegotiator {
  private makingOffer = false;
  private ignoreOffer = false;
  private settingRemoteAnswer = false;
  private inbound: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly pc: NegotiablePeerConnection,
    readonly polite: boolean,
    private readonly hooks: NegotiatorHooks,
  ) {}

  /** Counters for tests and debugging. */
  readonly stats = { offersSent: 0, answersSent: 0, offersIgnored: 0, rollbacks: 0, restarts: 0 };

  close(): void {
    this.closed = true;
  }

  /** The `negotiationneeded` handler: make and send an offer. */
  async negotiationNeeded(): Promise<void> {
    if (this.closed) return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      await this.sendLocalDescription();
    } catch (err) {
      this.report(err);
    } finally {
      this.makingOffer = false;
    }
  }

  /**
   * Negotiates again after signaling lost messages (a participant resumed on a new socket: an
   * offer, answer or candidate relayed during the gap reached nobody): our own pending offer,
   * whose answer will never come, is rolled back, and a new offer is sent, with an ICE restart
   * when `iceRestart` (the connection is not up). Runs in turn with the remote descriptions.
   */
  restart(iceRestart: boolean): Promise<void> {
    return this.serialize(async () => {
      this.lastSent = null;
      if (this.pc.signalingState === "have-local-offer") {
        await this.pc.setLocalDescription({ type: "rollback" });
        this.stats.rollbacks += 1;
      }
      if (iceRestart) this.pc.restartIce();
      this.stats.restarts += 1;
      await this.negotiationNeeded();
    });
  }

  /**
   * Sends the current local description unless it was sent already. Whichever call made it:
   * a `setLocalDescription()` queued while a remote offer was being applied answers that offer.
   */
  private async sendLocalDescription(): Promise<void> {
    const local = this.pc.localDescription;
    if (this.closed || !local || (local.type !== "offer" && local.type !== "answer")) return;
    if (this.lastSent && this.lastSent.type === local.type && this.lastSent.sdp === local.sdp) return;
    this.lastSent = { type: local.type, sdp: local.sdp };
    if (local.type === "offer") this.stats.offersSent += 1;
    else this.stats.answersSent += 1;
    await this.hooks.sendDescription({ type: local.type, sdp: local.sdp });
  }

  private lastSent: Description | null = null;

  /** A remote offer or answer. Descriptions and candidates are applied one at a time, in order. */
  receiveDescription(description: Description): Promise<void> {
    return this.serialize(() => this.applyDescription(description));
  }

  receiveCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    return this.serialize(() => this.applyCandidate(candidate));
  }

  private serialize(step: () => Promise<void>): Promise<void> {
    const next = this.inbound.then(() => (this.closed ? undefined : step())).catch((err) => this.report(err));
    this.inbound = next;
    return next;
  }

  private async applyDescription(description: Description): Promise<void> {
    const readyForOffer = !this.makingOffer && (this.pc.signalingState === "stable" || this.settingRemoteAnswer);
    const offerCollision = description.type === "offer" && !readyForOffer;
    this.ignoreOffer = !this.polite && offerCollision;
    if (this.ignoreOffer) {
      this.stats.offersIgnored += 1;
      return;
    }
    if (offerCollision) this.stats.rollbacks += 1;
    if (description.type === "answer" && this.pc.signalingState !== "have-local-offer") {
      // An answer to an offer we already replaced (rolled back): nothing to apply it to.
      return;
    }
    this.settingRemoteAnswer = description.type === "answer";
    try {
      await this.pc.setRemoteDescription(description);
    } finally {
      this.settingRemoteAnswer = false;
    }
    if (description.type === "offer") {
      await this.hooks.beforeAnswer?.();
      await this.pc.setLocalDescription();
      await this.sendLocalDescription();
    }
  }

  private async applyCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (err) {
      // Candidates of an offer we ignored cannot be applied; that is expected.
      if (!this.ignoreOffer) throw err;
    }
  }

  private report(err: unknown): void {
    if (this.closed) return;
    if (this.hooks.onError) this.hooks.onError(err);
    else console.warn("parley: negotiation failed", err);
  }
}
