import { describe, expect, it } from "vitest";
import { inOrder } from "./inOrder";

const later = () => {
  let settle!: (ok: boolean) => void;
  const promise = new Promise<string>((resolve, reject) => {
    settle = (ok) => (ok ? resolve("done") : reject(new Error("failed")));
  });
  return { promise, settle };
};
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("inOrder", () => {
  it("starts a task only after the one before has settled, in queue order", async () => {
    const queue = inOrder();
    const started: string[] = [];
    const first = later();
    const second = later();
    const a = queue(() => (started.push("a"), first.promise));
    const b = queue(() => (started.push("b"), second.promise));
    const c = queue(async () => (started.push("c"), "c"));
    await tick();
    expect(started).toEqual(["a"]);
    first.settle(true);
    await tick();
    expect(started).toEqual(["a", "b"]);
    second.settle(true);
    expect(await Promise.all([a, b, c])).toEqual(["done", "done", "c"]);
    expect(started).toEqual(["a", "b", "c"]);
  });

  it("a failed task rejects its own promise and does not stop the ones after it", async () => {
    const queue = inOrder();
    const failing = later();
    const a = queue(() => failing.promise);
    const b = queue(async () => "b");
    failing.settle(false);
    await expect(a).rejects.toThrow("failed");
    expect(await b).toBe("b");
  });
});
