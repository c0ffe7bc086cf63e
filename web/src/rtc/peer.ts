import { type Description, PerfectNegotiator } from "./negotiation";

/** The tracks we send: microphone and camera in the two "camera slots", and a screen share. */
export interface OutgoingTracks {
  audio: MediaStreamTrack | null;
  video: MediaStreamTrack | null;
  screen: MediaStreamTrack | null;
}

export interface PeerCallbacks {
  sendDescription(description: Description): Promise<void>;
  sendCandidate(candidate: RTCIceCandidateInit | null): Promise<void>;
  /** Remote streams or the connection state changed. */
  changed(): void;
}

export interface PeerOptions {
  remoteSid: string;
  polite: boolean;
  /** We learned about the remote peer from `peer-joined` (or it joined while we were away): we
   * create the slots and offer first. */
  initiator: boolean;
  iceServers: RTCIceServer[];
  outgoing: OutgoingTracks;
  callbacks: PeerCallbacks;
}

/**
 * One RTCPeerConnection to one remote participant.
 *
 * Media layout, the same on both ends: the first two transceivers (m-lines 0 and 1) are the
 * camera slots, audio and video, created by the end that offers first and adopted by the other
 * one before it answers; they carry the microphone and the camera (or its filtered version) in
 * both directions, and muting, camera-off, device switches and filters only replace or disable
 * their tracks. A screen share is an extra video track on a transceiver of its own (m-line 2 or later),
 * removed again when the share stops; both changes renegotiate, and the perfect negotiation
 * pattern keeps crossing offers (two people starting a share at once) from glaring. The remote
 * end tells the two kinds of video apart by the transceiver's position.
 */
export class Peer {
  readonly pc: RTCPeerConnection;
  readonly remoteSid: string;
  readonly negotiator: PerfectNegotiator;
  readonly initiator: boolean;
  /** The connection was `connected` once: both ends have negotiated the camera slots. */
  private established = false;
  /** The last offer or answer could not be sent (signaling was down). */
  private undelivered = false;
  /** The remote microphone and camera. */
  camera: MediaStream | null = null;
  /** The remote screen share, while there is one. */
  screen: MediaStream | null = null;
  private slotsReady = false;
  private screenSender: RTCRtpSender | null = null;
  private outgoing: OutgoingTracks;
  private readonly cameraStream = new MediaStream();
  private readonly screenStream = new MediaStream();
  private readonly callbacks: PeerCallbacks;
  private closed = false;

  constructor(options: PeerOptions) {
    this.remoteSid = options.remoteSid;
    this.callbacks = options.callbacks;
    this.outgoing = options.outgoing;
    this.initiator = options.initiator;
    this.pc = new RTCPeerConnection({ iceServers: options.iceServers, bundlePolicy: "max-bundle" });
    this.negotiator = new PerfectNegotiator(this.pc, options.polite, {
      sendDescription: async (d) => {
        try {
          await this.callbacks.sendDescription(d);
          this.undelivered = false;
        } catch (err) {
          this.undelivered = true;
          throw err;
        }
      },
      beforeAnswer: () => this.adoptSlots(),
      onError: (err) => console.warn(`parley: negotiation with ${this.remoteSid} failed`, err),
    });
    this.pc.addEventListener("negotiationneeded", () => void this.negotiator.negotiationNeeded());
    this.pc.addEventListener("icecandidate", (event) => {
      void this.callbacks.sendCandidate(event.candidate ? event.candidate.toJSON() : null).catch(() => undefined);
    });
    this.pc.addEventListener("track", (event) => this.onTrack(event));
    this.pc.addEventListener("connectionstatechange", () => {
      if (this.pc.connectionState === "connected") this.established = true;
      if (this.pc.connectionState === "failed" && !this.closed) this.pc.restartIce();
      if (this.pc.connectionState === "connected" && this.videoBitrate) void this.setVideoBitrate(this.videoBitrate);
      this.callbacks.changed();
    });
    if (options.initiator) this.createSlots();
  }

  get connectionState(): RTCPeerConnectionState {
    return this.pc.connectionState;
  }

  /**
   * Whether this end should negotiate again after a signaling gap (its own or the remote
   * participant's `peer-resumed`): the connection is not `connected`, or an offer or answer
   * is pending or was not delivered. A connection never established is left to its initiator
   * (the end that created the camera slots): an offer from the other end would create a
   * second set of slots.
   */
  needsRestart(): boolean {
    if (this.closed || (!this.established && !this.initiator)) return false;
    return this.pc.connectionState !== "connected" || this.pc.signalingState !== "stable" || this.undelivered;
  }

  /** Negotiates again (PerfectNegotiator.restart), restarting ICE unless the connection is up. */
  restart(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.negotiator.restart(this.pc.connectionState !== "connected");
  }

  receiveDescription(description: Description): Promise<void> {
    return this.negotiator.receiveDescription(description);
  }

  receiveCandidate(candidate: RTCIceCandidateInit | null): Promise<void> {
    if (!candidate || !candidate.candidate) return Promise.resolve();
    return this.negotiator.receiveCandidate(candidate);
  }

  setIceServers(iceServers: RTCIceServer[]): void {
    if (this.closed) return;
    try {
      this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers });
    } catch (err) {
      console.warn("parley: could not update ICE servers", err);
    }
  }

  /** New local tracks: replaced in the camera slots, and the screen share added or removed. */
  async setOutgoing(outgoing: OutgoingTracks): Promise<void> {
    this.outgoing = outgoing;
    if (this.closed || !this.slotsReady) return;
    const [audio, video] = this.pc.getTransceivers();
    await Promise.all([
      audio.sender.track !== outgoing.audio ? audio.sender.replaceTrack(outgoing.audio) : null,
      video.sender.track !== outgoing.video ? video.sender.replaceTrack(outgoing.video) : null,
    ]).catch((err) => console.warn("parley: replaceTrack failed", err));
    this.syncScreen();
  }

  /**
   * Caps the camera's bitrate towards this peer (a full mesh sends one copy per peer, so the
   * uplink is shared). Applies once the sender has encodings (after the first negotiation).
   */
  async setVideoBitrate(maxBitrate: number): Promise<void> {
    this.videoBitrate = maxBitrate;
    if (this.closed || !this.slotsReady) return;
    const sender = this.pc.getTransceivers()[1]?.sender;
    if (!sender) return;
    const parameters = sender.getParameters();
    if (!parameters.encodings?.length || parameters.encodings[0].maxBitrate === maxBitrate) return;
    parameters.encodings[0].maxBitrate = maxBitrate;
    await sender.setParameters(parameters).catch(() => undefined);
  }

  private videoBitrate = 0;

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.negotiator.close();
    this.pc.close();
    this.camera = null;
    this.screen = null;
  }

  /** The first offer's end: our two camera slots, then the screen share if one is running. */
  private createSlots(): void {
    const init = (direction: RTCRtpTransceiverDirection): RTCRtpTransceiverInit => ({ direction, streams: [this.cameraStream] });
    this.pc.addTransceiver(this.outgoing.audio ?? "audio", init("sendrecv"));
    this.pc.addTransceiver(this.outgoing.video ?? "video", init("sendrecv"));
    this.slotsReady = true;
    this.syncScreen();
  }

  /** The answering end, at the first remote offer: send our tracks on the offered camera slots. */
  private async adoptSlots(): Promise<void> {
    if (this.slotsReady) return;
    const [audio, video] = this.pc.getTransceivers();
    if (!audio || !video) return;
    for (const [transceiver, track] of [
      [audio, this.outgoing.audio],
      [video, this.outgoing.video],
    ] as const) {
      transceiver.direction = "sendrecv";
      await transceiver.sender.replaceTrack(track);
      transceiver.sender.setStreams?.(this.cameraStream);
    }
    this.slotsReady = true;
    this.syncScreen();
  }

  private syncScreen(): void {
    if (this.closed) return;
    const track = this.outgoing.screen;
    if (track && !this.screenSender) {
      // addTransceiver, not addTrack: addTrack may reuse an idle video transceiver, which
      // could be a camera slot of an end without a camera.
      this.screenSender = this.pc.addTransceiver(track, { direction: "sendonly", streams: [this.screenStream] }).sender;
    } else if (track && this.screenSender && this.screenSender.track !== track) {
      this.screenSender.replaceTrack(track).catch((err) => console.warn("parley: replaceTrack failed", err));
    } else if (!track && this.screenSender) {
      try {
        this.pc.removeTrack(this.screenSender);
      } catch {
        /* the connection is closing */
      }
      this.screenSender = null;
    }
  }

  private onTrack(event: RTCTrackEvent): void {
    const index = this.pc.getTransceivers().indexOf(event.transceiver);
    const track = event.track;
    if (index === 0 || index === 1) {
      const stream = this.camera ?? new MediaStream();
      for (const old of stream.getTracks()) if (old.kind === track.kind && old !== track) stream.removeTrack(old);
      if (!stream.getTracks().includes(track)) {
        stream.addTrack(track);
        // No RTP on a slot (the remote end has no camera, say) shows as a muted track.
        track.addEventListener("mute", () => this.callbacks.changed());
        track.addEventListener("unmute", () => this.callbacks.changed());
      }
      // A new MediaStream object makes the tile re-attach it.
      this.camera = new MediaStream(stream.getTracks());
    } else if (track.kind === "video") {
      this.screen = new MediaStream([track]);
      const gone = () => {
        if (this.screen?.getVideoTracks()[0] === track) {
          this.screen = null;
          this.callbacks.changed();
        }
      };
      track.addEventListener("ended", gone);
      event.streams[0]?.addEventListener("removetrack", (e) => {
        if (e.track === track) gone();
      });
    }
    this.callbacks.changed();
  }
}
