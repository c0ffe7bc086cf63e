import type { TokenPair } from "./types";

/** The part of `Storage` the token store uses (localStorage in the browser, a Map in tests). */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * A flag, not a secret: "this browser holds a session" (the refresh token itself is in an
 * HttpOnly cookie that scripts cannot read). It lets a new page skip the refresh call when
 * nobody signed in, and its removal tells the other tabs that the user signed out.
 */
export const SESSION_HINT_KEY = "parley.session";

/** Where versions before the cookie kept the refresh token; read once to move it to the cookie. */
export const LEGACY_REFRESH_TOKEN_KEY = "parley.refresh_token";

/**
 * Where the tokens live: the access token in memory only (never persisted, gone with the
 * page); the refresh token in the `parley_refresh` cookie (HttpOnly, Secure, SameSite=Strict,
 * Path=/api/auth) that auth sets and the browser sends to `/api/auth/refresh` and `/logout`.
 */
export class TokenStore {
  private access: { token: string; expiresAt: number } | null = null;

  constructor(
    private readonly storage: KeyValueStorage | null,
    private readonly now: () => number = Date.now,
  ) {}

  private read(key: string): string | null {
    try {
      return this.storage?.getItem(key) ?? null;
    } catch {
      return null;
    }
  }

  private write(key: string, value: string | null): void {
    try {
      if (value === null) this.storage?.removeItem(key);
      else this.storage?.setItem(key, value);
    } catch {
      // Storage may be full or disabled (private mode): the hint is then lost, not the session.
    }
  }

  /** True when this browser signed in and has not signed out since (the cookie may hold a session). */
  get hasSession(): boolean {
    return this.access !== null || this.read(SESSION_HINT_KEY) !== null || this.read(LEGACY_REFRESH_TOKEN_KEY) !== null;
  }

  /** A refresh token left in localStorage by an older version, removed as it is read. */
  takeLegacyRefreshToken(): string | null {
    const token = this.read(LEGACY_REFRESH_TOKEN_KEY);
    if (token !== null) this.write(LEGACY_REFRESH_TOKEN_KEY, null);
    return token;
  }

  /** Stores a fresh access token (`expires_in` is counted from now) and the session flag. */
  save(pair: TokenPair): void {
    this.access = { token: pair.access_token, expiresAt: this.now() + pair.expires_in * 1000 };
    this.write(SESSION_HINT_KEY, "1");
  }

  /** Stores a guest's access token (`expires_in` from now) in memory, without the session
   * flag, since a guest has no refresh token (the tab keeps it for a reload: room/rejoin.ts). */
  saveGuest(token: string, expiresIn: number): void {
    this.access = { token, expiresAt: this.now() + expiresIn * 1000 };
  }

  clear(): void {
    this.access = null;
    this.write(SESSION_HINT_KEY, null);
    this.write(LEGACY_REFRESH_TOKEN_KEY, null);
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
