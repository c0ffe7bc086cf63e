import { describe, expect, it, vi } from "vitest";
import { ApiError, HttpClient, NetworkError } from "./http";
import { type KeyValueStorage, REFRESH_TOKEN_KEY, TokenStore } from "./tokens";
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
const pair = (n: number, expiresIn = 900): TokenPair => ({
  access_token: `access-${n}`,
  token_type: "Bearer",
  expires_in: expiresIn,
  refresh_token: `refresh-${n}`,
  user,
});
const json = (status: number, body: unknown) =>
  new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

/**
 * A fake platform: /api/auth/refresh rotates (a reused refresh token is refused), every other
 * path answers 200 only for the current access token.
 */
function platform(options: { refreshFails?: boolean } = {}) {
  let generation = 1;
  const log: string[] = [];
  const fetch = vi.fn(async (url: string, init?: RequestInit) => {
    await new Promise((r) => setTimeout(r, 1));
    if (url === "/api/auth/refresh") {
      const { refresh_token } = JSON.parse(String(init?.body));
      log.push(`refresh ${refresh_token}`);
      if (options.refreshFails || refresh_token !== `refresh-${generation}`) {
        return json(401, { detail: { code: "invalid_refresh_token", message: "no" } });
      }
      generation += 1;
      return json(200, pair(generation));
    }
    const auth = new Headers(init?.headers).get("authorization");
    log.push(`${init?.method} ${url} ${auth}`);
    if (auth !== `Bearer access-${generation}`) return json(401, { detail: { code: "unauthorized", message: "expired" } });
    return json(200, { ok: true, url });
  });
  return { fetch, log };
}

function client(fake: ReturnType<typeof platform>) {
  const tokens = new TokenStore(new MemoryStorage());
  tokens.save(pair(1));
  return { http: new HttpClient({ tokens, fetch: fake.fetch }) };
}

describe("TokenStore", () => {
  it("keeps the access token in memory and the refresh token in storage", () => {
    const storage = new MemoryStorage();
    const tokens = new TokenStore(storage);
    tokens.save(pair(1));
    expect(storage.map.get(REFRESH_TOKEN_KEY)).toBe("refresh-1");
    expect([...storage.map.values()]).not.toContain("access-1");
    expect(tokens.accessToken()).toBe("access-1");
    // A new page (new store, same storage) has the refresh token but no access token.
    const reloaded = new TokenStore(storage);
    expect(reloaded.accessToken()).toBeNull();
    expect(reloaded.refreshToken).toBe("refresh-1");
    reloaded.clear();
    expect(storage.map.size).toBe(0);
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

  it("refreshes silently on a 401: exchanges the refresh token, stores the rotated one, retries once", async () => {
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
    expect(storage.map.get(REFRESH_TOKEN_KEY)).toBe("refresh-2");
    now += 1;
    expect(tokens.accessToken()).toBe("access-2");
  });

  it("shares one refresh between concurrent calls (a rotated refresh token is single-use)", async () => {
    const fake = platform();
    const storage = new MemoryStorage();
    const tokens = new TokenStore(storage);
    storage.setItem(REFRESH_TOKEN_KEY, "refresh-1"); // a reloaded page: no access token yet
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
    storage.setItem(REFRESH_TOKEN_KEY, "refresh-1");
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
    storage.setItem(REFRESH_TOKEN_KEY, "refresh-1");
    const onSessionLost = vi.fn();
    const fetch = vi.fn(async () => {
      throw new TypeError("Failed to fetch");
    });
    const http = new HttpClient({ tokens: new TokenStore(storage), fetch, onSessionLost });
    await expect(http.get("/api/meetings")).rejects.toBeInstanceOf(NetworkError);
    expect(onSessionLost).not.toHaveBeenCalled();
    expect(storage.map.get(REFRESH_TOKEN_KEY)).toBe("refresh-1");
  });

  it("re-reads the refresh token inside the cross-tab lock", async () => {
    const fake = platform();
    const storage = new MemoryStorage();
    storage.setItem(REFRESH_TOKEN_KEY, "refresh-1");
    // Another tab rotates refresh-1 → refresh-2 while this tab waits for the lock.
    const lock = async <T,>(fn: () => Promise<T>) => {
      const other = await fake.fetch("/api/auth/refresh", { method: "POST", body: JSON.stringify({ refresh_token: "refresh-1" }) });
      storage.setItem(REFRESH_TOKEN_KEY, ((await other.json()) as TokenPair).refresh_token);
      return fn();
    };
    const http = new HttpClient({ tokens: new TokenStore(storage), fetch: fake.fetch, lock });
    await expect(http.get("/api/meetings")).resolves.toMatchObject({ ok: true });
    expect(fake.log).toEqual(["refresh refresh-1", "refresh refresh-2", "GET /api/meetings Bearer access-3"]);
  });
});
