import type { SignalingClient } from "../signaling/client";
import type { MediaState, PeerInfo } from "../signaling/types";
import { isPolite } from "./negotiation";
import { type OutgoingTracks, Peer, type PeerOptions } from "./peer";

const silent = (track: MediaStreamTrack | undefined) => !track || track.muted || track.readyState === "ended";

/** The camera's bitrate per peer: an uplink budget shared by the mesh, within sane bounds. */
export function videoBitrateFor(peers: number): number {
  const UPLINK_BUDGET = 2_500_000;
  return Math.round(Math.min(1_200_000, Math.max(300_000, UPLINK_BUDGET / Math.max(peers, 1))));
}

/** A remote participant as the room shows it. */
export interface RemoteParticipant {
  sid: string;
  userId: string;
  displayName: string;
  /** From `peer-media-state`; null until the peer has said. */
  media: MediaState | null;
  camera: MediaStream | null;
  screen: MediaStream | null;
  /** No media is arriving for the microphone / camera (a fallback when `media` is unknown). */
  audioSilent: boolean;
  videoSilent: boolean;
  connectionState: RTCPeerConnectionState | "waiting";
}

interface Entry {
  info: PeerInfo;
  peer: Peer | null;
  media: MediaState | null;
  /** Order of arrival (a rejoining user's new socket is newer than its old one). */
  seq: number;
}

export interface MeshOptions {
  signaling: SignalingClient;
  meetingId: string;
  iceServers: () => RTCIceServer[];
  outgoing: () => OutgoingTracks;
  onChange: () => void;
  /** Makes a peer connection (unit tests pass a fake); `new Peer(options)` by default. */
  createPeer?: (options: PeerOptions) => Peer;
}

/** Debugging figures of one remote peer (`parleyDebug.stats()`): connection state, video
 * frames decoded and bytes received so far, the sum and the sum of squares of the delays
 * between consecutive video frames (seconds; W3C webrtc-stats `totalInterFrameDelay`,
 * `totalSquaredInterFrameDelay`), when the video figures were read (`timestamp`, ms, the
 * stats' own clock; 0 without video), the renegotiations after a signaling gap (`restarts`),
 * and the labels of the tracks sent to it. */
export interface PeerStats {
  state: string;
  framesDecoded: number;
  bytesReceived: number;
  totalInterFrameDelay: number;
  totalSquaredInterFrameDelay: number;
  timestamp: number;
  restarts: number;
  sending: string[];
}

/**
 * The full mesh of one room: a Peer per remote participant, keyed by participant id (the `sid`
 * of room events; docs/signaling.md, "Resumable participants"). Peers we learn about
 * from `peer-joined` are ours to call (we create the connection and offer); peers listed in
 * our `join` acknowledgement call us (their connection is created by their first offer). Our
 * own participant id decides perfect-negotiation politeness (`isPolite`), the same rule on
 * both ends. The connections outlive the signaling socket: `resume` keeps them.
 */
interface InboundStats {
  type: string;
  kind?: string;
  framesDecoded?: number;
  bytesReceived?: number;
  totalInterFrameDelay?: number;
  totalSquaredInterFrameDelay?: number;
  timestamp?: number;
}

export class Mesh {
  private readonly entries = new Map<string, Entry>();
  private seq = 0;
  private selfId = "";

  constructor(private readonly options: MeshOptions) {}

  /** Our participant id ("" before the first join). */
  get self(): string {
    return this.selfId;
  }

  /** Starts over after a fresh join as participant `selfId`: every old connection is closed. */
  reset(selfId: string, peers: PeerInfo[]): void {
    this.closeAll();
    this.selfId = selfId;
    for (const info of peers) {
      if (info.sid !== selfId) this.entries.set(info.sid, { info, peer: null, media: null, seq: this.seq++ });
    }
    this.options.onChange();
  }

  /**
   * We resumed as participant `selfId` on a new socket (`join` acknowledged `resumed: true`)
   * and `peers` is the room now. Connections are kept; those to participants no longer in the
   * room are closed; a participant we do not know joined while we were away and waits for our
   * offer (its `join` acknowledgement listed us), so we call it. A kept connection that is not
   * up, or whose negotiation was pending or not delivered, negotiates again
   * (Peer.needsRestart). Known participants we were still waiting for call us again themselves
   * on `peer-resumed` (an offer from us too would cross theirs before any slot exists).
   */
  resume(selfId: string, peers: PeerInfo[]): void {
    this.selfId = selfId;
    const present = new Map(peers.filter((p) => p.sid !== selfId).map((p) => [p.sid, p]));
    for (const [sid, entry] of this.entries) {
      if (!present.has(sid)) {
        entry.peer?.close();
        this.entries.delete(sid);
      }
    }
    for (const info of present.values()) {
      const entry = this.entries.get(info.sid);
      if (!entry) {
        const fresh: Entry = { info, peer: null, media: null, seq: this.seq++ };
        this.entries.set(info.sid, fresh);
        fresh.peer = this.createPeer(info.sid, true);
        continue;
      }
      if (info.user_id) entry.info = info;
      if (entry.peer?.needsRestart()) void entry.peer.restart();
    }
    this.applyBitrates();
    this.options.onChange();
  }

  /**
   * `peer-resumed`: participant `info.sid` is back on a new socket; what we relayed to it
   * during its gap was lost. Our connection to it negotiates again if it needs to
   * (Peer.needsRestart); a participant we did not know is added and calls us.
   */
  peerResumed(info: PeerInfo): void {
    if (info.sid === this.selfId) return;
    const entry = this.entries.get(info.sid);
    if (!entry) {
      this.entries.set(info.sid, { info, peer: null, media: null, seq: this.seq++ });
      this.options.onChange();
      return;
    }
    if (info.user_id) entry.info = info;
    if (entry.peer?.needsRestart()) void entry.peer.restart();
    this.options.onChange();
  }

  /** `peer-joined`: a newcomer; we offer. */
  peerJoined(info: PeerInfo): void {
    if (info.sid === this.selfId) return;
    this.entries.get(info.sid)?.peer?.close();
    const entry: Entry = { info, peer: null, media: null, seq: this.seq++ };
    this.entries.set(info.sid, entry);
    entry.peer = this.createPeer(info.sid, true);
    this.pruneStale();
    this.applyBitrates();
    this.options.onChange();
  }

  peerLeft(sid: string): void {
    const entry = this.entries.get(sid);
    if (!entry) return; // a peer that left while we were joining
    entry.peer?.close();
    this.entries.delete(sid);
    this.applyBitrates();
    this.options.onChange();
  }

  setMediaState(sid: string, media: MediaState): void {
    const entry = this.entries.get(sid);
    if (!entry) return;
    entry.media = { audio: media.audio, video: media.video, screen: media.screen };
    this.options.onChange();
  }

  async handleOffer(from: string, sdp: string): Promise<void> {
    let entry = this.entries.get(from);
    if (!entry) {
      // The offer overtook our join acknowledgement: a peer we will hear about in a moment.
      entry = { info: { sid: from, user_id: "", display_name: "" }, peer: null, media: null, seq: this.seq++ };
      this.entries.set(from, entry);
    }
    if (!entry.peer) {
      entry.peer = this.createPeer(from, false);
      this.applyBitrates();
    }
    this.options.onChange();
    await entry.peer.receiveDescription({ type: "offer", sdp });
  }

  async handleAnswer(from: string, sdp: string): Promise<void> {
    await this.entries.get(from)?.peer?.receiveDescription({ type: "answer", sdp });
  }

  async handleCandidate(from: string, candidate: RTCIceCandidateInit | null): Promise<void> {
    await this.entries.get(from)?.peer?.receiveCandidate(candidate);
  }

  /** Local tracks changed (device, filter, screen share). */
  updateOutgoing(): void {
    const outgoing = this.options.outgoing();
    for (const entry of this.entries.values()) void entry.peer?.setOutgoing(outgoing);
  }

  setIceServers(servers: RTCIceServer[]): void {
    for (const entry of this.entries.values()) entry.peer?.setIceServers(servers);
  }

  /** Fills in names for peers first known only by an early offer. */
  learn(info: PeerInfo): void {
    const entry = this.entries.get(info.sid);
    if (entry && !entry.info.user_id) {
      entry.info = info;
      this.options.onChange();
    }
  }

  private applyBitrates(): void {
    const bitrate = videoBitrateFor(this.entries.size);
    for (const entry of this.entries.values()) void entry.peer?.setVideoBitrate(bitrate);
  }

  closeAll(): void {
    for (const entry of this.entries.values()) entry.peer?.close();
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  participants(): RemoteParticipant[] {
    return [...this.entries.values()]
      .sort((a, b) => a.seq - b.seq)
      .map(({ info, peer, media }) => ({
        sid: info.sid,
        userId: info.user_id,
        displayName: info.display_name || "Guest",
        media,
        camera: peer?.camera ?? null,
        audioSilent: silent(peer?.camera?.getAudioTracks()[0]),
        videoSilent: silent(peer?.camera?.getVideoTracks()[0]),
        screen: media?.screen === false ? null : (peer?.screen ?? null),
        connectionState: peer ? peer.connectionState : "waiting",
      }));
  }

  /** Connection statistics per peer (debugging: `window.parleyDebug`). */
  async stats(): Promise<Record<string, PeerStats>> {
    const out: Record<string, PeerStats> = {};
    for (const [sid, entry] of this.entries) {
      const figures = { framesDecoded: 0, bytesReceived: 0, totalInterFrameDelay: 0, totalSquaredInterFrameDelay: 0, timestamp: 0 };
      if (entry.peer) {
        const report = await entry.peer.pc.getStats();
        report.forEach((s: InboundStats) => {
          if (s.type !== "inbound-rtp") return;
          if (s.kind === "video") {
            figures.framesDecoded += s.framesDecoded ?? 0;
            figures.totalInterFrameDelay += s.totalInterFrameDelay ?? 0;
            figures.totalSquaredInterFrameDelay += s.totalSquaredInterFrameDelay ?? 0;
            figures.timestamp = Math.max(figures.timestamp, s.timestamp ?? 0);
          }
          figures.bytesReceived += s.bytesReceived ?? 0;
        });
      }
      const sending = entry.peer ? entry.peer.pc.getSenders().flatMap((s) => (s.track ? [s.track.label] : [])) : [];
      const restarts = entry.peer?.negotiator.stats.restarts ?? 0;
      out[sid] = { state: entry.peer?.connectionState ?? "waiting", ...figures, restarts, sending };
    }
    return out;
  }

  /**
   * A user whose socket dropped comes back with a new sid before the server has noticed that
   * the old one is gone (that takes a heartbeat timeout). Once a newer socket of the same user
   * is in the room, an old one whose connection is no longer up is dropped.
   */
  private pruneStale(): void {
    const newest = new Map<string, number>();
    for (const entry of this.entries.values()) {
      if (!entry.info.user_id) continue;
      newest.set(entry.info.user_id, Math.max(newest.get(entry.info.user_id) ?? -1, entry.seq));
    }
    for (const [sid, entry] of this.entries) {
      const state = entry.peer?.connectionState;
      const down = state === "disconnected" || state === "failed" || state === "closed";
      if (entry.info.user_id && entry.seq < (newest.get(entry.info.user_id) ?? -1) && down) {
        entry.peer?.close();
        this.entries.delete(sid);
      }
    }
  }

  private createPeer(sid: string, initiator: boolean): Peer {
    const { signaling, meetingId } = this.options;
    const create = this.options.createPeer ?? ((options: PeerOptions) => new Peer(options));
    const peer = create({
      remoteSid: sid,
      polite: isPolite(this.selfId, sid),
      initiator,
      iceServers: this.options.iceServers(),
      outgoing: this.options.outgoing(),
      callbacks: {
        sendDescription: async (d) => {
          // A failure marks the negotiation undelivered (Peer.needsRestart).
          await signaling.request(d.type, { meeting_id: meetingId, to: sid, sdp: d.sdp });
        },
        sendCandidate: async (candidate) => {
          await signaling.request("ice-candidate", {
            meeting_id: meetingId,
            to: sid,
            candidate: candidate
              ? {
                  candidate: candidate.candidate ?? "",
                  sdpMid: candidate.sdpMid ?? null,
                  sdpMLineIndex: candidate.sdpMLineIndex ?? null,
                  ...(candidate.usernameFragment ? { usernameFragment: candidate.usernameFragment } : {}),
                }
              : null,
          });
        },
        changed: () => {
          this.pruneStale();
          this.options.onChange();
        },
      },
    });
    return peer;
  }
}
