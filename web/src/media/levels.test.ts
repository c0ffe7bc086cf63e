import { describe, expect, it } from "vitest";
import { rms, SpeakingTracker } from "./levels";

describe("who is speaking", () => {
  it("measures a frame's RMS", () => {
    expect(rms(new Float32Array([0, 0, 0, 0]))).toBe(0);
    expect(rms(new Float32Array([0.5, -0.5, 0.5, -0.5]))).toBeCloseTo(0.5);
  });

  it("counts a loud source as speaking, holds it through a pause, then lets it go", () => {
    const tracker = new SpeakingTracker(0.1, 1_000);
    expect(tracker.update(new Map([["a", 0.3], ["b", 0.01]]), 0)).toEqual(new Set(["a"]));
    expect(tracker.update(new Map([["a", 0.0], ["b", 0.01]]), 900)).toEqual(new Set(["a"]));
    expect(tracker.update(new Map([["a", 0.0], ["b", 0.2]]), 1_100)).toEqual(new Set(["b"]));
  });

  it("forgets a source that is gone", () => {
    const tracker = new SpeakingTracker(0.1, 1_000);
    tracker.update(new Map([["a", 0.3]]), 0);
    expect(tracker.update(new Map(), 10)).toEqual(new Set());
    expect(tracker.update(new Map([["a", 0]]), 20)).toEqual(new Set());
  });
});
