// Fakes for the unit tests of signaling, the mesh and the room session (never imported by the
// app): a socket.io socket whose server side the test plays, and a peer connection that
// records what the mesh asks of it.

import type { Socket } from "socket.io-client";
import type { Peer, PeerOptions } from "../rtc/peer";
import type { Ack } from "../signaling/types";

type Listener = (...args: unknown[]) => void;

/** What the fake server answers to a client event (undefined: no answer, the ack times out). */
export type Responder = (event: string, payload: Record<string, unknown>) => Ack<unknown> | undefined;

/**
 * The part of socket.io-client's `Socket` that SignalingClient uses. The test plays the server:
 * `open()` (a new session), `serverEmit()`, `refuse()` (a connect error), `drop()` (a transport
 * failure, after which socket.io would reconnect by itself).
 */
export class FakeSocket {
  connected = false;
  active = false;
  connects = 0;
  disconnects = 0;
  readonly emitted: Array<{ event: string; payload: Record<string, unknown> }> = [];
  responder: Responder = () => ({ ok: true, data: {} });
  readonly io = { engine: { close: () => this.drop() } };
  private readonly listeners = new Map<string, Listener[]>();

  /** As `Socket`, for SignalingOptions.createSocket. */
  asSocket(): Socket {
    return this as unknown as Socket;
  }

  on(event: string, listener: Listener): this {
    const list = this.listeners.get(event) ?? [];
    list.push(listener);
    this.listeners.set(event, list);
    return this;
  }

  connect(): this {
    this.connects += 1;
    this.active = true;
    return this;
  }

  disconnect(): this {
    this.disconnects += 1;
    const was = this.connected;
    this.connected = false;
    this.active = false;
    if (was) this.fire("disconnect", "io client disconnect");
    return this;
  }

  timeout(_ms: number) {
    return {
      emit: (event: string, payload: Record<string, unknown>, callback: (err: Error | null, ack: Ack<unknown>) => void) => {
        this.emitted.push({ event, payload });
        const ack = this.responder(event, payload);
        if (ack) queueMicrotask(() => callback(null, ack));
      },
    };
  }

  /** The client events sent so far named `event`, their payloads. */
  sent(event: string): Array<Record<string, unknown>> {
    return this.emitted.filter((e) => e.event === event).map((e) => e.payload);
  }

  // the server's side ------------------------------------------------------------------------
  open(sid: string, replicaId = "signaling-1"): void {
    this.connected = true;
    this.active = true;
    this.fire("session", { protocol_version: 1, sid, replica_id: replicaId, user_id: "user-self" });
  }

  serverEmit(event: string, payload: unknown): void {
    this.fire(event, payload);
  }

  /** The server refused the session (a namespace connect error): socket.io gives up. */
  refuse(code: string): void {
    this.connected = false;
    this.active = false;
    const err = Object.assign(new Error(code), { data: { code, message: code } });
    this.fire("connect_error", err);
  }

  /** The transport failed: socket.io reconnects by itself (it stays active). */
  drop(): void {
    if (!this.connected) return;
    this.connected = false;
    this.fire("disconnect", "transport close");
  }

  private fire(event: string, ...args: unknown[]): void {
    for (const listener of this.listeners.get(event) ?? []) listener(...args);
  }
}

/** A peer connection as the mesh sees it: its options, and what was asked of it. */
export class FakePeer {
  readonly remoteSid: string;
  readonly polite: boolean;
  readonly initiator: boolean;
  connectionState: RTCPeerConnectionState = "connected";
  /** What Peer.needsRestart would say (the real logic is tested in peer.test.ts). */
  stalled = false;
  closed = false;
  restarts = 0;
  camera: MediaStream | null = null;
  screen: MediaStream | null = null;
  readonly descriptions: Array<{ type: string; sdp: string }> = [];

  constructor(readonly options: PeerOptions) {
    this.remoteSid = options.remoteSid;
    this.polite = options.polite;
    this.initiator = options.initiator;
  }

  needsRestart(): boolean {
    return !this.closed && this.stalled;
  }

  async restart(): Promise<void> {
    this.restarts += 1;
  }

  close(): void {
    this.closed = true;
  }

  async receiveDescription(description: { type: string; sdp: string }): Promise<void> {
    this.descriptions.push(description);
  }

  async receiveCandidate(): Promise<void> {}
  async setOutgoing(): Promise<void> {}
  async setVideoBitrate(): Promise<void> {}
  setIceServers(): void {}
}

/** A peer factory for MeshOptions.createPeer that keeps every peer it made. */
export function fakePeers(): { create: (options: PeerOptions) => Peer; made: FakePeer[]; to: (sid: string) => FakePeer[] } {
  const made: FakePeer[] = [];
  return {
    made,
    create: (options) => {
      const peer = new FakePeer(options);
      made.push(peer);
      return peer as unknown as Peer;
    },
    to: (sid) => made.filter((p) => p.remoteSid === sid),
  };
}

/** A Storage kept in memory (localStorage / sessionStorage in unit tests). */
export class MemoryStorage {
  private items = new Map<string, string>();
  getItem(k: string) {
    return this.items.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.items.set(k, v);
  }
  removeItem(k: string) {
    this.items.delete(k);
  }
}

/** A MediaRecorder the test drives: `fire("start")`, `data(blob)`; `stop()` hands over nothing more. */
export class FakeMediaRecorder extends EventTarget {
  static isTypeSupported = () => true;
  static made: FakeMediaRecorder[] = [];
  state: RecordingState = "inactive";
  readonly calls: string[] = [];
  constructor(readonly stream: MediaStream) {
    super();
    FakeMediaRecorder.made.push(this);
  }
  start(timeslice?: number): void {
    this.calls.push(`start ${timeslice}`);
    this.state = "recording";
  }
  requestData(): void {
    this.calls.push("requestData");
  }
  stop(): void {
    this.calls.push("stop");
    this.state = "inactive";
    queueMicrotask(() => this.dispatchEvent(new Event("stop")));
  }
  fire(type: string): void {
    this.dispatchEvent(new Event(type));
  }
  data(blob: Blob): void {
    this.dispatchEvent(Object.assign(new Event("dataavailable"), { data: blob }));
  }
}

/**
 * Stubs (with `stub`, e.g. `vi.stubGlobal`) what recording the meeting uses: MediaStream, a 2D
 * canvas and its captureStream, <video>, AudioContext, MediaRecorder, and a document to
 * download from. Returns the recorders made and the names of the files downloaded.
 */
export function fakeRecordingBrowser(stub: (name: string, value: unknown) => void) {
  FakeMediaRecorder.made = [];
  const downloads: string[] = [];
  const track = (kind: string) => ({ kind, readyState: "live", stop: () => undefined });
  class FakeMediaStream {
    constructor(readonly tracks: Array<{ kind: string }> = []) {}
    getTracks = () => this.tracks;
    getVideoTracks = () => this.tracks.filter((t) => t.kind === "video");
    getAudioTracks = () => this.tracks.filter((t) => t.kind === "audio");
  }
  const context2d = new Proxy({}, { get: (_, name) => (name === "measureText" ? () => ({ width: 10 }) : () => undefined) });
  const element = (tag: string) => {
    if (tag === "canvas") return { getContext: () => context2d, captureStream: () => new FakeMediaStream([track("video")]) };
    if (tag === "a") {
      const anchor = { style: {}, download: "", click: () => downloads.push(anchor.download), remove: () => undefined };
      return anchor;
    }
    return { play: async () => undefined, readyState: 0, videoWidth: 0 };
  };
  stub("MediaStream", FakeMediaStream);
  stub("document", { createElement: element, body: { appendChild: () => undefined } });
  stub("MediaRecorder", FakeMediaRecorder);
  stub(
    "AudioContext",
    class {
      state = "running";
      createMediaStreamDestination = () => ({ stream: new FakeMediaStream([track("audio")]) });
      createMediaStreamSource = () => ({ connect: () => undefined, disconnect: () => undefined });
      close = async () => undefined;
    },
  );
  return { recorders: FakeMediaRecorder.made, downloads };
}
