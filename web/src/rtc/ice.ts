import type { TurnCredentials } from "../api/types";

/** Refresh TURN credentials when this share of their lifetime is left (at least a minute). */
const REFRESH_AT_REMAINING_SHARE = 0.2;
const MIN_REMAINING_MS = 60_000;
const MIN_DELAY_MS = 5_000;
/** After a failed fetch, try again after this long (or sooner if the credentials expire). */
export const RETRY_AFTER_FAILURE_MS = 30_000;

/**
 * How long to wait before fetching new TURN credentials: when `max(20 % of the ttl, 60 s)`
 * remains before `expires_at`, but never sooner than 5 s from now (credentials already about to
 * expire are replaced soon, not in a tight loop).
 */
export function refreshDelayMs(expiresAt: string, ttlSeconds: number, now: number): number {
  const expiry = Date.parse(expiresAt);
  if (Number.isNaN(expiry)) return MIN_DELAY_MS;
  const margin = Math.max(ttlSeconds * 1000 * REFRESH_AT_REMAINING_SHARE, MIN_REMAINING_MS);
  return Math.max(expiry - margin - now, MIN_DELAY_MS);
}

/** After a failure: retry in 30 s, or at half the remaining validity when that is sooner. */
export function retryDelayMs(expiresAt: string | null, now: number): number {
  if (!expiresAt) return MIN_DELAY_MS;
  const remaining = Date.parse(expiresAt) - now;
  if (!(remaining > 0)) return MIN_DELAY_MS;
  return Math.max(Math.min(RETRY_AFTER_FAILURE_MS, remaining / 2), MIN_DELAY_MS);
}

export interface IceServerProviderOptions {
  fetchCredentials: () => Promise<TurnCredentials>;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

/**
 * The ICE servers for new and existing peer connections: TURN credentials from turn-config,
 * fetched once and then again shortly before they expire (listeners apply them with
 * `RTCPeerConnection.setConfiguration`). Without credentials, the peer connections still try
 * host and server-reflexive candidates.
 */
export class IceServerProvider {
  private servers: RTCIceServer[] = [];
  private expiresAt: string | null = null;
  private timer: unknown = null;
  private first: Promise<RTCIceServer[]> | null = null;
  private stopped = false;
  private readonly listeners = new Set<(servers: RTCIceServer[]) => void>();
  private readonly now: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;

  constructor(private readonly options: IceServerProviderOptions) {
    this.now = options.now ?? Date.now;
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = options.clearTimer ?? ((handle) => clearTimeout(handle as ReturnType<typeof setTimeout>));
  }

  /** The current servers; the first call waits for the first fetch (successful or not). */
  get(): Promise<RTCIceServer[]> {
    this.first ??= this.fetch().then(() => this.servers);
    return this.first;
  }

  get current(): RTCIceServer[] {
    return this.servers;
  }

  get credentialsExpireAt(): string | null {
    return this.expiresAt;
  }

  onChange(listener: (servers: RTCIceServer[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
  }

  private async fetch(): Promise<void> {
    if (this.stopped) return;
    try {
      const credentials = await this.options.fetchCredentials();
      this.servers = credentials.iceServers.map((s) => ({ ...s, urls: [...s.urls] }));
      this.expiresAt = credentials.expires_at;
      for (const listener of this.listeners) listener(this.servers);
      this.schedule(refreshDelayMs(credentials.expires_at, credentials.ttl, this.now()));
    } catch (err) {
      console.warn("parley: TURN credentials could not be fetched", err);
      this.schedule(retryDelayMs(this.expiresAt, this.now()));
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = this.setTimer(() => {
      this.timer = null;
      void this.fetch();
    }, ms);
  }
}
