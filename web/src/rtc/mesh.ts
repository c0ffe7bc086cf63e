import type { SignalingClient } from "../signaling/client";
import type { MediaState, PeerInfo } from "../signaling/types";
import { isPolite } from "./negotiation";
import { type OutgoingTracks, Peer } from "./peer";

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
}

/**
 * The full mesh of one room: a Peer per remote socket. Peers we learn about from `peer-joined`
 * are ours to call (we create the connection and offer); peers listed in our `join`
 * acknowledgement call us (their connection is created by their first offer).
 */
/** Debugging figures of one remote peer (`parleyDebug.stats()`): connection state, video
 * frames decoded and bytes received so far, and the labels of the tracks sent to it. */
export interface PeerStats {
  state: string;
  framesDecoded: number;
  bytesReceived: number;
  sending: string[];
}

export class Mesh {
  private readonly entries = new Map<string, Entry>();
  private seq = 0;
  private selfSid = "";

  constructor(private readonly options: MeshOptions) {}

  /** Starts over after (re)joining: every old connection is closed. */
  reset(selfSid: string, peers: PeerInfo[]): void {
    this.closeAll();
    this.selfSid = selfSid;
    for (const info of peers) {
      if (info.sid !== selfSid) this.entries.set(info.sid, { info, peer: null, media: null, seq: this.seq++ });
    }
    this.options.onChange();
  }

  /** `peer-joined`: a newcomer; we offer. */
  peerJoined(info: PeerInfo): void {
    if (info.sid === this.selfSid) return;
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
      let framesDecoded = 0;
      let bytesReceived = 0;
      if (entry.peer) {
        const report = await entry.peer.pc.getStats();
        report.forEach((s: { type: string; kind?: string; framesDecoded?: number; bytesReceived?: number }) => {
          if (s.type === "inbound-rtp") {
            if (s.kind === "video") framesDecoded += s.framesDecoded ?? 0;
            bytesReceived += s.bytesReceived ?? 0;
          }
        });
      }
      const sending = entry.peer ? entry.peer.pc.getSenders().flatMap((s) => (s.track ? [s.track.label] : [])) : [];
      out[sid] = { state: entry.peer?.connectionState ?? "waiting", framesDecoded, bytesReceived, sending };
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
    const peer = new Peer({
      remoteSid: sid,
      polite: isPolite(this.selfSid, sid),
      initiator,
      iceServers: this.options.iceServers(),
      outgoing: this.options.outgoing(),
      callbacks: {
        sendDescription: async (d) => {
          await signaling.request(d.type, { meeting_id: meetingId, to: sid, sdp: d.sdp }).catch((err) => {
            console.warn(`parley: ${d.type} to ${sid} not delivered`, err);
          });
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
