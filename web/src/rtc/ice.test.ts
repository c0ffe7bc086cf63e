import { beforeEach, describe, expect, it, vi } from "vitest";
import type { TurnCredentials } from "../api/types";
import { IceServerProvider, refreshDelayMs, retryDelayMs } from "./ice";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

describe("refreshDelayMs", () => {
  it("refreshes when a fifth of the ttl is left", () => {
    // ttl 3600 s, issued now: refresh after 2880 s (720 s before expiry).
    expect(refreshDelayMs(iso(T0 + 3600_000), 3600, T0)).toBe(2880_000);
  });

  it("keeps at least a minute of margin for short ttls", () => {
    expect(refreshDelayMs(iso(T0 + 120_000), 120, T0)).toBe(60_000);
  });

  it("never schedules sooner than 5 s, even for credentials that are about to expire or expired", () => {
    expect(refreshDelayMs(iso(T0 + 30_000), 3600, T0)).toBe(5_000);
    expect(refreshDelayMs(iso(T0 - 30_000), 3600, T0)).toBe(5_000);
  });

  it("accepts expires_at with a Z or an offset", () => {
    expect(refreshDelayMs("2026-01-01T01:00:00Z", 3600, T0)).toBe(2880_000);
    expect(refreshDelayMs("2026-01-01T02:00:00+01:00", 3600, T0)).toBe(2880_000);
  });

  it("falls back to a short delay on an unreadable expires_at", () => {
    expect(refreshDelayMs("soon", 3600, T0)).toBe(5_000);
  });
});

describe("retryDelayMs", () => {
  it("retries after 30 s while the credentials are far from expiry", () => {
    expect(retryDelayMs(iso(T0 + 600_000), T0)).toBe(30_000);
  });
  it("retries at half the remaining validity when that is sooner", () => {
    expect(retryDelayMs(iso(T0 + 40_000), T0)).toBe(20_000);
  });
  it("retries after 5 s without credentials", () => {
    expect(retryDelayMs(null, T0)).toBe(5_000);
  });
});

describe("IceServerProvider", () => {
  beforeEach(() => {
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
  });

  function harness(answers: Array<TurnCredentials | Error>) {
    let now = T0;
    const timers: Array<{ fn: () => void; at: number }> = [];
    let calls = 0;
    const provider = new IceServerProvider({
      fetchCredentials: async () => {
        const answer = answers[Math.min(calls++, answers.length - 1)];
        if (answer instanceof Error) throw answer;
        return answer;
      },
      now: () => now,
      setTimer: (fn, ms) => {
        const timer = { fn, at: now + ms };
        timers.push(timer);
        return timer;
      },
      clearTimer: (handle) => {
        const i = timers.indexOf(handle as (typeof timers)[number]);
        if (i >= 0) timers.splice(i, 1);
      },
    });
    const advance = async (ms: number) => {
      now += ms;
      for (const timer of timers.filter((t) => t.at <= now)) {
        timers.splice(timers.indexOf(timer), 1);
        timer.fn();
      }
      await new Promise((r) => setTimeout(r, 0));
    };
    return { provider, advance, timers, calls: () => calls };
  }

  const creds = (user: string, issued: number): TurnCredentials => ({
    iceServers: [{ urls: ["turn:127.0.0.1:3478"], username: user, credential: "x" }],
    ttl: 3600,
    expires_at: iso(issued + 3600_000),
  });

  it("fetches once, then again before expiry, and tells listeners", async () => {
    const { provider, advance, calls } = harness([creds("first", T0), creds("second", T0 + 2880_000)]);
    const seen: string[] = [];
    provider.onChange((servers) => seen.push(String(servers[0].username)));
    expect((await provider.get())[0].username).toBe("first");
    await advance(2879_000);
    expect(calls()).toBe(1);
    await advance(1_000);
    expect(calls()).toBe(2);
    expect(provider.current[0].username).toBe("second");
    expect(seen).toEqual(["first", "second"]);
  });

  it("keeps the old servers and retries after a failed refresh", async () => {
    const { provider, advance, calls } = harness([creds("first", T0), new Error("down"), creds("third", T0)]);
    await provider.get();
    await advance(2880_000);
    expect(calls()).toBe(2);
    expect(provider.current[0].username).toBe("first");
    await advance(30_000);
    expect(calls()).toBe(3);
    expect(provider.current[0].username).toBe("third");
  });

  it("answers with no servers when the first fetch fails, and stops on stop()", async () => {
    const { provider, advance, timers, calls } = harness([new Error("down")]);
    expect(await provider.get()).toEqual([]);
    provider.stop();
    expect(timers).toEqual([]);
    await advance(60_000);
    expect(calls()).toBe(1);
  });
});
