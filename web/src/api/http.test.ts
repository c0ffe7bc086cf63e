import { describe, expect, it, vi } from "vitest";
import { authApi } from "./auth";
import { ApiError, GET_RETRY, HttpClient, NetworkError, type RetryPolicy } from "./http";
import { type KeyValueStorage, LEGACY_REFRESH_TOKEN_KEY, SESSION_HINT_KEY, TokenStore } from "./tokens";
import type { TokenPair } from "./types";

class MemoryStorage implements KeyValueStorage {
  readonly map = new Map<string, string>();
  getItem(key: string) {
    return this.map.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.map.set(key, value);
  }
  removeItem(key: string) {
    this.map.delete(key);
  }
}

const user = { user_id: "u1", email: "a@example.com", display_name: "Ada" };
// As a browser gets it: the refresh token is in the HttpOnly cookie, not in the body.
const pair = (n: number, expiresIn = 900): TokenPair => ({
  access_token: `access-${n}`,
  token_type: "Bearer",
  expires_in: expiresIn,
  user,
});
/** Retries as GET_RETRY but without waiting. */
const FAST_RETRY = { ...GET_RETRY, minTimeout: 0, maxTimeout: 0 };
const json = (status: number, body: unknown) =>
  new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

/**
 * A fake platform with the browser's cookie jar: /api/auth/refresh takes the refresh token
 * from the `parley_refresh` cookie (sent only with `credentials` allowing it), or from the
 * body, and rotates it (a reused one is refused); every other path answers 200 only for the
 * current access token.
 */
function platform(options: { refreshFails?: boolean } = {}) {
  let generation = 1;
  const jar = { parley_refresh: "refresh-1" as string | null };
  const log: string[] = [];
  const fetch = vi.fn(async (url: string, init?: RequestInit) => {
    await new Promise((r) => setTimeout(r, 1));
    if (url === "/api/auth/refresh") {
      const cookie = init?.credentials === "omit" ? null : jar.parley_refresh;
      const refresh_token = init?.body ? JSON.parse(String(init.body)).refresh_token : cookie;
      log.push(`refresh ${refresh_token}`);
      if (options.refreshFails || refresh_token !== `refresh-${generation}`) {
        jar.parley_refresh = null;
        return json(401, { detail: { code: "invalid_refresh_token", message: "no" } });
      }
      generation += 1;
      jar.parley_refresh = `refresh-${generation}`;
      return json(200, pair(generation));
    }
    if (url === "/api/auth/logout") {
      log.push(`logout ${jar.parley_refresh}`);
      jar.parley_refresh = null;
      return json(204, null);
    }
    const auth = new Headers(init?.headers).get("authorization");
    log.push(`${init?.method} ${url} ${auth}`);
    if (auth !== `Bearer access-${generation}`) return json(401, { detail: { code: "unauthorized", message: "expired" } });
    return json(200, { ok: true, url });
  });
  return { fetch, log, jar };
}

function client(fake: ReturnType<typeof platform>) {
  const tokens = new TokenStore(new MemoryStorage());
  tokens.save(pair(1));
  return { http: new HttpClient({ tokens, fetch: fake.fetch }) };
}

describe("TokenStore", () => {
  it("keeps the access token in memory and stores no token, only a session flag", () => {
    const storage = new MemoryStorage();
    const tokens = new TokenStore(storage);
    tokens.save({ ...pair(1), refresh_token: "refresh-1" }); // even if a body carried one
    expect([...storage.map.entries()]).toEqual([[SESSION_HINT_KEY, "1"]]);
    expect(tokens.accessToken()).toBe("access-1");
    // A new page (new store, same storage) knows there is a session but has no token.
    const reloaded = new TokenStore(storage);
    expect(reloaded.accessToken()).toBeNull();
    expect(reloaded.hasSession).toBe(true);
    reloaded.clear();
    expect(storage.map.size).toBe(0);
    expect(reloaded.hasSession).toBe(false);
  });

  it("treats an access token as missing once it is within the margin of expiry", () => {
    let now = 0;
    const tokens = new TokenStore(null, () => now);
    tokens.save(pair(1, 60));
    expect(tokens.accessToken(30_000)).toBe("access-1");
    now = 31_000;
    expect(tokens.accessToken(30_000)).toBeNull();
    expect(tokens.accessToken()).toBe("access-1");
  });
});

describe("HttpClient", () => {
  it("sends the access token", async () => {
    const fake = platform();
    const { http } = client(fake);
    await expect(http.get("/api/meetings")).resolves.toEqual({ ok: true, url: "/api/meetings" });
    expect(fake.log).toEqual(["GET /api/meetings Bearer access-1"]);
  });

  it("refreshes silently on a 401 with the cookie (same-origin, no token in the body), retries once", async () => {
    let now = 0;
    const fake = platform();
    const storage = new MemoryStorage();
    const tokens = new TokenStore(storage, () => now);
    tokens.save(pair(1));
    const http = new HttpClient({ tokens, fetch: fake.fetch });
    // The server revoked access-1 early (say a key rotation) while it is still fresh locally.
    const original = fake.fetch.getMockImplementation()!;
    let rejectOnce = true;
    fake.fetch.mockImplementation(async (url: string, init?: RequestInit) => {
      if (rejectOnce && url === "/api/meetings") {
        rejectOnce = false;
        return json(401, { detail: { code: "unauthorized", message: "revoked" } });
      }
      return original(url, init);
    });
    await expect(http.get("/api/meetings")).resolves.toMatchObject({ ok: true });
    expect(fake.log).toEqual(["refresh refresh-1", "GET /api/meetings Bearer access-2"]);
    const [url, init] = fake.fetch.mock.calls.find(([u]) => u === "/api/auth/refresh")!;
    expect([url, init?.credentials, init?.body]).toEqual(["/api/auth/refresh", "same-origin", undefined]);
    expect(fake.jar.parley_refresh).toBe("refresh-2");
    expect([...storage.map.values()]).not.toContain("refresh-2");
    now += 1;
    expect(tokens.accessToken()).toBe("access-2");
  });

  it("shares one refresh between concurrent calls (a rotated refresh token is single-use)", async () => {
    const fake = platform();
    const storage = new MemoryStorage();
    const tokens = new TokenStore(storage);
    storage.setItem(SESSION_HINT_KEY, "1"); // a reloaded page: no access token yet
    const http = new HttpClient({ tokens, fetch: fake.fetch });
    const results = await Promise.all([http.get("/api/a"), http.get("/api/b"), http.get("/api/c")]);
    expect(results).toHaveLength(3);
    expect(fake.log.filter((l) => l.startsWith("refresh"))).toEqual(["refresh refresh-1"]);
    expect(fake.log.filter((l) => l.startsWith("GET"))).toEqual([
      "GET /api/a Bearer access-2",
      "GET /api/b Bearer access-2",
      "GET /api/c Bearer access-2",
    ]);
  });

  it("refreshes before a call when the access token is about to expire", async () => {
    let now = 0;
    const fake = platform();
    const tokens = new TokenStore(new MemoryStorage(), () => now);
    tokens.save(pair(1, 900));
    const http = new HttpClient({ tokens, fetch: fake.fetch });
    now = 880_000; // 20 s left, under the 30 s margin
    await http.get("/api/meetings");
    expect(fake.log).toEqual(["refresh refresh-1", "GET /api/meetings Bearer access-2"]);
  });

  it("ends the session when the refresh token is refused", async () => {
    const fake = platform({ refreshFails: true });
    const storage = new MemoryStorage();
    const tokens = new TokenStore(storage);
    storage.setItem(SESSION_HINT_KEY, "1");
    const onSessionLost = vi.fn();
    const http = new HttpClient({ tokens, fetch: fake.fetch, onSessionLost });
    const error = await http.get("/api/meetings").catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 401, code: "not_signed_in" });
    expect(onSessionLost).toHaveBeenCalledTimes(1);
    expect(storage.map.size).toBe(0);
  });

  it("does not refresh for unauthenticated calls and reports the API's error code", async () => {
    const fetch = vi.fn(async () => json(401, { detail: { code: "invalid_credentials", message: "Wrong email or password" } }));
    const http = new HttpClient({ tokens: new TokenStore(null), fetch });
    await expect(http.post("/api/auth/login", {}, { auth: false })).rejects.toMatchObject({
      status: 401,
      code: "invalid_credentials",
      message: "Wrong email or password",
    });
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it("turns validation errors (422) into words", async () => {
    const fetch = vi.fn(async () => json(422, { detail: [{ msg: "String should have at least 8 characters", loc: ["body", "password"] }] }));
    const http = new HttpClient({ tokens: new TokenStore(null), fetch });
    await expect(http.post("/api/auth/register", {}, { auth: false })).rejects.toMatchObject({
      status: 422,
      code: "invalid_request",
      message: "String should have at least 8 characters",
    });
  });

  it("keeps the session when the network fails during a refresh", async () => {
    const storage = new MemoryStorage();
    storage.setItem(SESSION_HINT_KEY, "1");
    const onSessionLost = vi.fn();
    const fetch = vi.fn(async () => {
      throw new TypeError("Failed to fetch");
    });
    const http = new HttpClient({ tokens: new TokenStore(storage), fetch, onSessionLost, retry: FAST_RETRY });
    await expect(http.get("/api/meetings")).rejects.toBeInstanceOf(NetworkError);
    expect(fetch).toHaveBeenCalledTimes(1 + FAST_RETRY.retries); // the GET (its refresh) was tried again
    expect(onSessionLost).not.toHaveBeenCalled();
    expect(storage.map.get(SESSION_HINT_KEY)).toBe("1");
  });

  it("does not call refresh when this browser never signed in", async () => {
    const fake = platform();
    const onSessionLost = vi.fn();
    const http = new HttpClient({ tokens: new TokenStore(new MemoryStorage()), fetch: fake.fetch, onSessionLost });
    await expect(http.get("/api/meetings")).rejects.toMatchObject({ status: 401, code: "not_signed_in" });
    expect(fake.fetch).not.toHaveBeenCalled();
    expect(onSessionLost).toHaveBeenCalledTimes(1);
  });

  it("moves a refresh token an older version left in localStorage into the cookie", async () => {
    const fake = platform();
    const storage = new MemoryStorage();
    storage.setItem(LEGACY_REFRESH_TOKEN_KEY, "refresh-1");
    fake.jar.parley_refresh = null; // that version set no cookie
    const http = new HttpClient({ tokens: new TokenStore(storage), fetch: fake.fetch });
    await expect(http.get("/api/meetings")).resolves.toMatchObject({ ok: true });
    expect(fake.log).toEqual(["refresh refresh-1", "GET /api/meetings Bearer access-2"]);
    expect(fake.jar.parley_refresh).toBe("refresh-2");
    expect([...storage.map.entries()]).toEqual([[SESSION_HINT_KEY, "1"]]);
  });

  it("refreshes inside the cross-tab lock, with the cookie another tab just rotated", async () => {
    const fake = platform();
    const storage = new MemoryStorage();
    storage.setItem(SESSION_HINT_KEY, "1");
    // Another tab rotates refresh-1 → refresh-2 (the shared cookie) while this tab waits for the lock.
    const lock = async <T,>(fn: () => Promise<T>) => {
      await fake.fetch("/api/auth/refresh", { method: "POST", credentials: "same-origin" });
      return fn();
    };
    const http = new HttpClient({ tokens: new TokenStore(storage), fetch: fake.fetch, lock });
    await expect(http.get("/api/meetings")).resolves.toMatchObject({ ok: true });
    expect(fake.log).toEqual(["refresh refresh-1", "refresh refresh-2", "GET /api/meetings Bearer access-3"]);
  });

  it("signs out after a refresh in flight has landed, so its cookie does not come back", async () => {
    const fake = platform();
    const { http } = client(fake);
    const rotation = http.refresh(); // say, the socket's token was refused a moment ago
    await authApi(http).logout();
    await rotation;
    expect(fake.log).toEqual(["refresh refresh-1", "logout refresh-2"]);
    expect(fake.jar.parley_refresh).toBeNull();
    expect(http.tokens.hasSession).toBe(false);
  });
});

describe("HttpClient retries", () => {
  const answers = (...statuses: (number | "network")[]) => {
    const queue = [...statuses];
    return vi.fn(async (_url: string, _init?: RequestInit) => {
      const next = queue.shift() ?? 200;
      if (next === "network") throw new TypeError("Failed to fetch");
      return json(next, next === 200 ? { ok: true } : { detail: { code: "unavailable", message: "try again" } });
    });
  };
  const client = (fetch: ReturnType<typeof answers>, retry: Partial<RetryPolicy> = FAST_RETRY) =>
    new HttpClient({ tokens: new TokenStore(null), fetch, retry });

  it("tries a GET again after no answer, 502, 503 and 504", async () => {
    const fetch = answers("network", 502, 503);
    await expect(client(fetch).get("/api/x", { auth: false })).resolves.toEqual({ ok: true });
    expect(fetch).toHaveBeenCalledTimes(4);
    const gateway = answers(504);
    await expect(client(gateway).get("/api/x", { auth: false })).resolves.toEqual({ ok: true });
    expect(gateway).toHaveBeenCalledTimes(2);
  });

  it("gives up after the policy's retries with the last error", async () => {
    const fetch = answers(503, 503, 503, 503, 200);
    await expect(client(fetch).get("/api/x", { auth: false })).rejects.toMatchObject({ status: 503, code: "unavailable" });
    expect(fetch).toHaveBeenCalledTimes(4);
  });

  it("does not retry other methods, nor answers that are not transient", async () => {
    for (const call of [
      (http: HttpClient) => http.post("/api/x", {}, { auth: false }),
      (http: HttpClient) => http.delete("/api/x", { auth: false }),
    ]) {
      const fetch = answers(503);
      await expect(call(client(fetch))).rejects.toMatchObject({ status: 503 });
      expect(fetch).toHaveBeenCalledTimes(1);
    }
    for (const status of [404, 429, 500]) {
      const fetch = answers(status);
      await expect(client(fetch).get("/api/x", { auth: false })).rejects.toMatchObject({ status });
      expect(fetch).toHaveBeenCalledTimes(1);
    }
  });

  it("waits between attempts as GET_RETRY says, and stops when the request is aborted", async () => {
    expect(GET_RETRY).toMatchObject({ retries: 3, minTimeout: 500, factor: 2 });
    vi.useFakeTimers();
    try {
      const fetch = answers(503, 503);
      const done = client(fetch, { randomize: false }).get("/api/x", { auth: false });
      await vi.advanceTimersByTimeAsync(499);
      expect(fetch).toHaveBeenCalledTimes(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(fetch).toHaveBeenCalledTimes(2); // after 500 ms
      await vi.advanceTimersByTimeAsync(999);
      expect(fetch).toHaveBeenCalledTimes(2);
      await vi.advanceTimersByTimeAsync(1);
      expect(fetch).toHaveBeenCalledTimes(3); // 1000 ms after that
      await expect(done).resolves.toEqual({ ok: true });

      const aborted = answers(503, 503);
      const controller = new AbortController();
      const call = client(aborted, { randomize: false }).get("/api/x", { auth: false, signal: controller.signal });
      const outcome = expect(call).rejects.toThrow();
      await vi.advanceTimersByTimeAsync(100);
      controller.abort(new Error("left the page"));
      await outcome;
      await vi.advanceTimersByTimeAsync(5000);
      expect(aborted).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("ApiError", () => {
  it("carries a 429's Retry-After", async () => {
    const fetch = vi.fn(
      async () =>
        new Response(JSON.stringify({ detail: { code: "too_many_attempts", message: "too many attempts; try again in 120 seconds" } }), {
          status: 429,
          headers: { "content-type": "application/json", "retry-after": "120" },
        }),
    );
    const http = new HttpClient({ tokens: new TokenStore(null), fetch });
    await expect(http.post("/api/auth/login", {}, { auth: false })).rejects.toMatchObject({
      status: 429,
      code: "too_many_attempts",
      retryAfter: 120,
    });
  });
});
