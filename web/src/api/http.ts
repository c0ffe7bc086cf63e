import pRetry from "p-retry";
import type { TokenStore } from "./tokens";
import type { ErrorBody, TokenPair } from "./types";

/** An HTTP answer that is not 2xx, in words: `code` is the API's machine code when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds to wait before trying again (a 429's `Retry-After`). */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** The network failed (no HTTP answer at all). */
export class NetworkError extends Error {
  constructor(cause: unknown) {
    super("The server could not be reached");
    this.name = "NetworkError";
    this.cause = cause;
  }
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** Runs `fn` while holding a lock shared by the app's tabs (the Web Locks API when present). */
export type LockRunner = <T>(fn: () => Promise<T>) => Promise<T>;

/** How GETs are retried (p-retry's options): `retries` more attempts, the n-th after
 * `minTimeout * factor^(n-1)` ms, up to twice that with `randomize`, never over `maxTimeout`. */
export interface RetryPolicy {
  retries: number;
  minTimeout: number;
  factor: number;
  maxTimeout: number;
  randomize: boolean;
}

/**
 * A GET that got no answer, or 502/503/504 (docs/http-api.md: a service restarting, its
 * database away, a replica failing over), is tried again 3 times, after 0.5, 1 and 2 s (each up
 * to twice that): an outage of a few seconds shows as a slower page, not as an error. Other
 * methods are not retried (a POST may have taken effect), nor other answers.
 */
export const GET_RETRY: RetryPolicy = { retries: 3, minTimeout: 500, factor: 2, maxTimeout: 4000, randomize: true };

const TRANSIENT_STATUSES = new Set([502, 503, 504]);

/** Is this failure worth another attempt of an idempotent request? */
export function isTransient(error: unknown): boolean {
  return error instanceof NetworkError || (error instanceof ApiError && TRANSIENT_STATUSES.has(error.status));
}

export interface HttpClientOptions {
  tokens: TokenStore;
  /** How GETs are retried (default GET_RETRY). */
  retry?: Partial<RetryPolicy>;
  fetch?: FetchLike;
  baseUrl?: string;
  /** Serializes refreshes across tabs: refresh tokens rotate, and reusing one revokes them all. */
  lock?: LockRunner;
  /** Called once the session is gone for good (the refresh token was refused). */
  onSessionLost?: () => void;
}

export interface RequestOptions {
  /** Send `Authorization: Bearer` (default true). */
  auth?: boolean;
  signal?: AbortSignal;
  /** Answer the body as text instead of parsing it as JSON. */
  text?: boolean;
  /** Let the request outlive the page (fetch `keepalive`): for what a closing page still says. */
  keepalive?: boolean;
}

/** Refresh the access token this long before it expires instead of waiting for a 401. */
export const ACCESS_TOKEN_MARGIN_MS = 30_000;

const noLock: LockRunner = (fn) => fn();

export function browserLock(name = "parley-token-refresh"): LockRunner {
  return (fn) =>
    typeof navigator !== "undefined" && navigator.locks
      ? (navigator.locks.request(name, fn) as ReturnType<typeof fn>)
      : fn();
}

async function errorFrom(response: Response): Promise<ApiError> {
  let body: ErrorBody | null = null;
  try {
    body = (await response.json()) as ErrorBody;
  } catch {
    body = null;
  }
  const detail = body?.detail;
  const retryAfter = Number.parseInt(response.headers.get("retry-after") ?? "", 10);
  if (detail && typeof detail === "object" && !Array.isArray(detail)) {
    return new ApiError(
      response.status,
      detail.code ?? `http_${response.status}`,
      detail.message ?? response.statusText,
      Number.isFinite(retryAfter) ? retryAfter : null,
    );
  }
  if (Array.isArray(detail)) {
    const words = detail.map((d) => d.msg).filter(Boolean).join("; ");
    return new ApiError(response.status, "invalid_request", words || "The request was not valid");
  }
  return new ApiError(response.status, `http_${response.status}`, typeof detail === "string" ? detail : response.statusText || `HTTP ${response.status}`);
}

/**
 * JSON over fetch with the session's tokens. A 401 on a signed-in call refreshes the access
 * token with the refresh token, which the browser sends in its HttpOnly cookie (one refresh at
 * a time, shared by every waiting call), and retries the call once; when the refresh token is
 * refused the session is over. A GET that meets a transient failure is tried again (GET_RETRY).
 */
export class HttpClient {
  private readonly fetchFn: FetchLike;
  private readonly baseUrl: string;
  private readonly lock: LockRunner;
  private readonly retry: RetryPolicy;
  private refreshing: Promise<string> | null = null;

  constructor(private readonly options: HttpClientOptions) {
    this.fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
    this.baseUrl = options.baseUrl ?? "";
    this.lock = options.lock ?? noLock;
    this.retry = { ...GET_RETRY, ...options.retry };
  }

  get tokens(): TokenStore {
    return this.options.tokens;
  }

  /** A valid access token, refreshed first when it is missing or about to expire. */
  async accessToken(): Promise<string> {
    const current = this.tokens.accessToken(ACCESS_TOKEN_MARGIN_MS);
    return current ?? this.refresh();
  }

  /** Exchanges the refresh token for a new pair; concurrent callers share one exchange. */
  refresh(): Promise<string> {
    if (!this.refreshing) {
      this.refreshing = this.lock(() => this.exchange()).finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  /** Resolves once no refresh is in flight (whatever its outcome): its response, and the
   * cookie it sets, have then arrived. Signing out waits for this, or a rotation still on the
   * wire would set the cookie again after logout cleared it. */
  async settled(): Promise<void> {
    while (this.refreshing) await this.refreshing.catch(() => undefined);
  }

  private async exchange(): Promise<string> {
    // Checked inside the lock: another tab may have signed out a moment ago.
    if (!this.tokens.hasSession) {
      this.sessionLost();
      throw new ApiError(401, "not_signed_in", "Please sign in");
    }
    // The refresh token travels in the HttpOnly cookie (same origin, path /api/auth); a token
    // an older version left in localStorage is sent once in the body and so moves into it.
    const legacy = this.tokens.takeLegacyRefreshToken();
    let response: Response;
    try {
      response = await this.fetchFn(this.url("/api/auth/refresh"), {
        method: "POST",
        credentials: "same-origin",
        headers: legacy ? { "content-type": "application/json", accept: "application/json" } : { accept: "application/json" },
        body: legacy ? JSON.stringify({ refresh_token: legacy }) : undefined,
      });
    } catch (err) {
      throw new NetworkError(err);
    }
    if (response.status === 401 || response.status === 403) {
      this.sessionLost();
      throw new ApiError(401, "not_signed_in", "Please sign in");
    }
    if (!response.ok) throw await errorFrom(response);
    const pair = (await response.json()) as TokenPair;
    this.tokens.save(pair);
    this.onRefreshed?.(pair);
    return pair.access_token;
  }

  /** Told about every new token pair (the session keeps the user it carries). */
  onRefreshed: ((pair: TokenPair) => void) | null = null;

  private sessionLost(): void {
    this.tokens.clear();
    this.options.onSessionLost?.();
  }

  private url(path: string): string {
    return this.baseUrl + path;
  }

  /** One call of the API; a GET is retried on a transient failure (GET_RETRY). Rejects with
   * ApiError (an answer that is not 2xx), NetworkError (no answer), or the signal's reason. */
  request<T>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
    const attempt = () => this.attempt<T>(method, path, body, options);
    if (method !== "GET" || this.retry.retries <= 0) return attempt();
    return pRetry(attempt, { ...this.retry, signal: options.signal, shouldRetry: ({ error }) => isTransient(error) });
  }

  private async attempt<T>(method: string, path: string, body: unknown, options: RequestOptions): Promise<T> {
    const auth = options.auth ?? true;
    let token = auth ? await this.accessToken() : null;
    let response = await this.send(method, path, body, token, options);
    if (response.status === 401 && auth && token) {
      this.tokens.dropAccessToken(token);
      token = await this.refresh();
      response = await this.send(method, path, body, token, options);
    }
    if (!response.ok) throw await errorFrom(response);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    if (options.text) return text as T;
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private async send(method: string, path: string, body: unknown, token: string | null, { signal, keepalive }: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (token) headers.authorization = `Bearer ${token}`;
    try {
      return await this.fetchFn(this.url(path), {
        method,
        credentials: "same-origin", // the refresh cookie, for /api/auth only (its path)
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        keepalive,
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new NetworkError(err);
    }
  }

  get<T>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>("GET", path, undefined, options);
  }

  post<T>(path: string, body?: unknown, options?: RequestOptions): Promise<T> {
    return this.request<T>("POST", path, body ?? {}, options);
  }

  put<T>(path: string, body: unknown, options?: RequestOptions): Promise<T> {
    return this.request<T>("PUT", path, body, options);
  }

  patch<T>(path: string, body: unknown, options?: RequestOptions): Promise<T> {
    return this.request<T>("PATCH", path, body, options);
  }

  delete<T>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>("DELETE", path, undefined, options);
  }

  /** The body of a GET as text (a calendar file, not JSON). */
  getText(path: string, options?: RequestOptions): Promise<string> {
    return this.request<string>("GET", path, undefined, { ...options, text: true });
  }
}
