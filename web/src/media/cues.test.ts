import { afterEach, describe, expect, it } from "vitest";
import { Cues, cuesEnabled, setCuesEnabled } from "./cues";
import { MemoryStorage } from "../testing/fakes";

/** An AudioContext that records the notes started on it. */
class FakeAudioContext {
  static notes: number[] = [];
  state = "running";
  currentTime = 1;
  destination = {};
  createGain() {
    const param = { setValueAtTime() {}, linearRampToValueAtTime() {}, exponentialRampToValueAtTime() {} };
    return { gain: param, connect() {} };
  }
  createOscillator() {
    const tone = {
      type: "",
      frequency: { value: 0 },
      connect() {},
      start: () => FakeAudioContext.notes.push(tone.frequency.value),
      stop() {},
    };
    return tone;
  }
  resume() {
    return Promise.resolve();
  }
  close() {
    return Promise.resolve();
  }
}

afterEach(() => {
  delete (globalThis as { window?: unknown }).window;
  FakeAudioContext.notes = [];
});

describe("join and leave sounds", () => {
  it("are on unless turned off, and the choice is kept", () => {
    const store = new MemoryStorage() as unknown as Storage;
    expect(cuesEnabled(store)).toBe(true);
    setCuesEnabled(false, store);
    expect(cuesEnabled(store)).toBe(false);
    setCuesEnabled(true, store);
    expect(cuesEnabled(store)).toBe(true);
  });

  it("play two rising notes for a join, two falling for a leave, nothing when off", () => {
    (globalThis as { window?: unknown }).window = { AudioContext: FakeAudioContext };
    let on = true;
    const cues = new Cues(() => on);
    expect(cues.play("joined")).toBe(true);
    expect(cues.play("left")).toBe(true);
    const [a, b, c, d] = FakeAudioContext.notes;
    expect(a).toBeLessThan(b);
    expect(c).toBeGreaterThan(d);
    on = false;
    expect(cues.play("joined")).toBe(false);
    expect(FakeAudioContext.notes).toHaveLength(4);
  });

  it("stay silent without Web Audio", () => {
    expect(new Cues(() => true).play("joined")).toBe(false);
  });
});
