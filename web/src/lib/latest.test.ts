import { describe, expect, it } from "vitest";
import { STALE, latestOnly } from "./latest";

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

describe("latestOnly", () => {
  it("gives the latest load's answer and STALE to the ones it overtook, whatever order they answer in", async () => {
    const latest = latestOnly();
    const first = deferred<string>();
    const second = deferred<string>();
    const a = latest(() => first.promise);
    const b = latest(() => second.promise);
    second.resolve("new");
    first.resolve("old");
    expect(await a).toBe(STALE);
    expect(await b).toBe("new");
  });

  it("throws the latest load's error, and an overtaken load's error is STALE", async () => {
    const latest = latestOnly();
    const first = deferred<string>();
    const second = deferred<string>();
    const a = latest(() => first.promise);
    const b = latest(() => second.promise);
    first.reject(new Error("old failure"));
    second.reject(new Error("new failure"));
    expect(await a).toBe(STALE);
    await expect(b).rejects.toThrow("new failure");
  });

  it("gives a load that nothing overtook its answer", async () => {
    const latest = latestOnly();
    expect(await latest(async () => 42)).toBe(42);
  });
});
