import type { TokenPair } from "./types";

/** The part of `Storage` the token store uses (localStorage in the browser, a Map in tests). */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export const REFRESH_TOKEN_KEY = "parley.refresh_token";

/**
 * Where the tokens live: the access token in memory only (never persisted, gone with the
 * page), the refresh token in localStorage so that a reload or a new tab stays signed in.
 */
export class TokenStore {
  private access: { token: string; expiresAt: number } | null = null;

  constructor(
    private readonly storage: KeyValueStorage | null,
    private readonly now: () => number = Date.now,
  ) {}

  get refreshToken(): string | null {
    try {
      return this.storage?.getItem(REFRESH_TOKEN_KEY) ?? null;
    } catch {
      return null;
    }
  }

  get hasSession(): boolean {
    return this.access !== null || this.refreshToken !== null;
  }

  /** Stores a fresh pair; `expires_in` is counted from now. */
  save(pair: TokenPair): void {
    this.access = { token: pair.access_token, expiresAt: this.now() + pair.expires_in * 1000 };
    try {
      this.storage?.setItem(REFRESH_TOKEN_KEY, pair.refresh_token);
    } catch {
      // Storage may be full or disabled (private mode): the session then lasts as long as the page.
    }
  }

  clear(): void {
    this.access = null;
    try {
      this.storage?.removeItem(REFRESH_TOKEN_KEY);
    } catch {
      /* nothing to clear */
    }
  }

  /** The access token if it is still valid for at least `marginMs`, else null. */
  accessToken(marginMs = 0): string | null {
    if (!this.access) return null;
    return this.access.expiresAt - marginMs > this.now() ? this.access.token : null;
  }

  /** Forgets the access token only (after a 401 it is known to be useless). */
  dropAccessToken(token: string): void {
    if (this.access?.token === token) this.access = null;
  }
}
