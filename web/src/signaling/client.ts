import { type ManagerOptions, type Socket, type SocketOptions, io } from "socket.io-client";
import {
  type Ack,
  type ClientEventName,
  type ClientEvents,
  type ConnectionState,
  type ServerEventName,
  type ServerEvents,
  SignalingError,
} from "./types";

export interface SignalingOptions {
  /** A valid access token for the socket.io `auth` payload (asked again at every reconnect). */
  getToken: () => Promise<string>;
  /** Forces a new access token after signaling refused the current one. */
  refreshToken: () => Promise<string>;
  /** Same origin by default (Traefik routes `/socket.io` to the signaling replicas). */
  url?: string;
  /** The sign-in session was ended elsewhere (`session-ended`): the client has closed itself. */
  onSessionEnded?: (reason: string) => void;
  /** Default acknowledgement timeout. */
  ackTimeoutMs?: number;
  /** Makes the socket.io socket (tests pass a fake); `io(url, options)` by default. */
  createSocket?: (url: string | undefined, options: Partial<ManagerOptions & SocketOptions>) => Socket;
}

type Handler<E extends ServerEventName> = (payload: ServerEvents[E]) => void;

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 5_000;
/** A draining replica refused the session: the next attempt goes elsewhere (docs/signaling.md). */
export const DRAINING_RETRY_MIN_MS = 50;
export const DRAINING_RETRY_MAX_MS = 250;
/** A move off a draining replica shows as "reconnecting" only if it takes longer than this. */
export const MOVE_GRACE_MS = 2_000;

/**
 * The socket.io connection to signaling: `request()` sends a client event and resolves with the
 * acknowledgement's `data` (or rejects with a SignalingError carrying its `code`); `on()`
 * subscribes to server events; `onSession()` fires after every (re)connection with the new
 * `sid`, which is the moment to (re)join a room. Reconnection is automatic and endless, with
 * back-off; a refused token is refreshed before the next attempt.
 *
 * Drain (docs/signaling.md): on `draining` the client moves at once (disconnect, connect: the
 * new session lands on another replica) and the connection state stays `connected` for up to
 * MOVE_GRACE_MS meanwhile; a session refused with the connect error `draining` is retried after
 * 50–250 ms of jitter instead of the back-off.
 */
export class SignalingClient {
  private readonly socket: Socket;
  private readonly handlers = new Map<string, Set<(payload: never) => void>>();
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();
  private readonly sessionListeners = new Set<(session: ServerEvents["session"], resumed: boolean) => void>();
  private everConnected = false;
  private closed = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private retryDelay = RETRY_MIN_MS;
  private _state: ConnectionState = "connecting";
  private _sid: string | null = null;
  private _replicaId: string | null = null;
  private readonly ackTimeoutMs: number;
  /** Set while moving off a draining replica: the "reconnecting" state waits for MOVE_GRACE_MS. */
  private moveTimer: ReturnType<typeof setTimeout> | null = null;
  private moving = false;

  constructor(options: SignalingOptions) {
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    const auth = (cb: (data: object) => void) => {
      options.getToken().then(
        (token) => cb({ token }),
        () => cb({}),
      );
    };
    const socketOptions = {
      path: "/socket.io",
      autoConnect: false,
      reconnection: true,
      reconnectionDelay: RETRY_MIN_MS,
      reconnectionDelayMax: RETRY_MAX_MS,
      randomizationFactor: 0.3,
      timeout: 10_000,
      auth,
    };
    if (options.createSocket) this.socket = options.createSocket(options.url, socketOptions);
    else this.socket = options.url ? io(options.url, socketOptions) : io(socketOptions);

    this.socket.on("session", (session: ServerEvents["session"]) => {
      const resumed = this.everConnected;
      this.everConnected = true;
      this.retryDelay = RETRY_MIN_MS;
      this._sid = session.sid;
      this._replicaId = session.replica_id;
      this.endMove();
      this.setState("connected");
      for (const listener of this.sessionListeners) listener(session, resumed);
    });
    this.socket.on("disconnect", (reason) => {
      this._sid = null;
      if (this.closed) return this.setState("offline");
      if (!this.moving) this.setState(this.online() ? "reconnecting" : "offline");
      // The server closed this socket (e.g. its replica is stopping): socket.io does not
      // reconnect by itself in that case.
      if (reason === "io server disconnect") this.scheduleRetry();
    });
    this.socket.on("connect_error", (err: Error & { data?: { code?: string } }) => {
      if (this.closed) return;
      if (!this.moving) this.setState(this.online() ? (this.everConnected ? "reconnecting" : "connecting") : "offline");
      // Refused by signaling itself (not a transport error): socket.io will not retry.
      if (!this.socket.active) {
        if (err.data?.code === "draining") {
          // This replica takes no new sessions; the proxy sends the next attempt elsewhere.
          this.scheduleRetry(jitter(DRAINING_RETRY_MIN_MS, DRAINING_RETRY_MAX_MS));
        } else if (err.data?.code === "unauthorized") {
          // Refreshed or not (offline, say), try again; a session that is over for good
          // takes the user to the sign-in page, which closes this client.
          options.refreshToken().then(
            () => this.scheduleRetry(),
            () => this.scheduleRetry(),
          );
        } else {
          this.scheduleRetry();
        }
      }
    });
    this.socket.on("draining", () => this.move());
    this.socket.on("session-ended", (payload: ServerEvents["session-ended"]) => {
      // The session is over for good: no reconnection, no token refresh.
      this.close();
      options.onSessionEnded?.(payload?.reason ?? "replaced");
    });
    if (typeof window !== "undefined") {
      window.addEventListener("offline", this.onOffline);
      window.addEventListener("online", this.onOnline);
    }
    for (const event of SERVER_EVENTS) {
      this.socket.on(event, (payload: unknown) => {
        for (const handler of this.handlers.get(event) ?? []) {
          try {
            handler(payload as never);
          } catch (err) {
            console.error(`parley: ${event} handler failed`, err);
          }
        }
      });
    }
  }

  get state(): ConnectionState {
    return this._state;
  }

  /** This socket's id (the `sid` peers address), null while disconnected. */
  get sid(): string | null {
    return this._sid;
  }

  /** The signaling replica of the current (or last) session, from its `session` event. */
  get replicaId(): string | null {
    return this._replicaId;
  }

  get connected(): boolean {
    return this.socket.connected && this._sid !== null;
  }

  connect(): void {
    this.closed = false;
    this.socket.connect();
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.endMove();
    if (typeof window !== "undefined") {
      window.removeEventListener("offline", this.onOffline);
      window.removeEventListener("online", this.onOnline);
    }
    this.socket.disconnect();
    this.setState("offline");
  }

  /** Drops the transport as a network failure would (debugging and tests): the client reconnects. */
  dropConnection(): void {
    this.socket.io.engine?.close();
  }

  /**
   * Moves to another replica now (`draining`): a new session replaces this one without waiting
   * for the server to close it. The state stays as it is for up to MOVE_GRACE_MS.
   */
  private move(): void {
    if (this.closed) return;
    if (!this.moving) {
      this.moving = true;
      this.moveTimer = setTimeout(() => {
        this.moveTimer = null;
        this.moving = false;
        if (!this.closed && !this.connected) this.setState(this.online() ? "reconnecting" : "offline");
      }, MOVE_GRACE_MS);
    }
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.retryDelay = RETRY_MIN_MS;
    this.socket.disconnect();
    this.socket.connect();
  }

  private endMove(): void {
    this.moving = false;
    if (this.moveTimer) clearTimeout(this.moveTimer);
    this.moveTimer = null;
  }

  on<E extends ServerEventName>(event: E, handler: Handler<E>): () => void {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(handler as (payload: never) => void);
    return () => set.delete(handler as (payload: never) => void);
  }

  onState(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** `resumed` is true for every session after the first (a reconnection). */
  onSession(listener: (session: ServerEvents["session"], resumed: boolean) => void): () => void {
    this.sessionListeners.add(listener);
    return () => this.sessionListeners.delete(listener);
  }

  /** Sends `event` and waits for its acknowledgement. */
  request<E extends ClientEventName>(event: E, payload: ClientEvents[E]["payload"], timeoutMs = this.ackTimeoutMs): Promise<ClientEvents[E]["ack"]> {
    if (!this.connected) return Promise.reject(new SignalingError("disconnected", "Not connected to signaling"));
    return new Promise((resolve, reject) => {
      this.socket.timeout(timeoutMs).emit(event, payload, (err: Error | null, ack: Ack<ClientEvents[E]["ack"]>) => {
        if (err) return reject(new SignalingError("timeout", `No answer to ${event}`));
        if (ack && ack.ok) return resolve(ack.data);
        const error = ack && !ack.ok ? ack.error : { code: "internal", message: "Malformed acknowledgement" };
        reject(new SignalingError(error.code, error.message));
      });
    });
  }

  private setState(state: ConnectionState): void {
    if (state === this._state) return;
    this._state = state;
    for (const listener of this.stateListeners) listener(state);
  }

  /** Connects again after `fixedDelayMs`, or else after the next back-off step. */
  private scheduleRetry(fixedDelayMs?: number): void {
    if (this.closed || this.retryTimer) return;
    const delay = fixedDelayMs ?? this.retryDelay;
    if (fixedDelayMs === undefined) this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.closed && !this.socket.connected) this.socket.connect();
    }, delay);
  }

  private online(): boolean {
    return typeof navigator === "undefined" || navigator.onLine !== false;
  }

  private readonly onOffline = () => {
    if (!this.socket.connected) this.setState("offline");
  };

  private readonly onOnline = () => {
    if (this.closed || this.socket.connected) return;
    this.setState(this.everConnected ? "reconnecting" : "connecting");
    if (!this.socket.active) this.scheduleRetry();
  };
}

function jitter(minMs: number, maxMs: number): number {
  return minMs + Math.random() * (maxMs - minMs);
}

/** Every server event but `session` (see `onSession`), forwarded to `on` listeners: a Record, so
 * that a new event cannot be forgotten here. */
const FORWARDED: Record<Exclude<ServerEventName, "session">, true> = {
  "peer-joined": true,
  "peer-left": true,
  offer: true,
  answer: true,
  "ice-candidate": true,
  "chat-message": true,
  "meeting-ended": true,
  "peer-media-state": true,
  "peer-resumed": true,
  "participant-moved": true,
  hands: true,
  recording: true,
  reaction: true,
  moderation: true,
  spotlight: true,
  lobby: true,
  "lobby-decision": true,
  removed: true,
  "role-changed": true,
  "meeting-updated": true,
  draining: true,
  "session-ended": true,
  presence: true,
  "contacts-changed": true,
  call: true,
  "direct-message": true,
  "direct-message-read": true,
};
const SERVER_EVENTS = Object.keys(FORWARDED) as Exclude<ServerEventName, "session">[];
