import { describe, expect, it } from "vitest";
import { FakeMediaRecorder } from "../testing/fakes";
import { Recording, type RecorderLike, TIMESLICE_MS, recordingFileName, recordingProblem } from "./recorder";

const WEBM_HEAD = new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81]);

class FakeRecorder extends FakeMediaRecorder {
  constructor() {
    super({} as MediaStream);
  }
  /** Hands over the rest of the file when asked. */
  override requestData(): void {
    super.requestData();
    this.data(new Blob([WEBM_HEAD.slice(4)]));
  }
}

function recording(fake: FakeMediaRecorder, events: { onStart?: () => void } = {}) {
  return new Recording({} as MediaStream, events, () => fake as unknown as RecorderLike);
}

describe("Recording", () => {
  it("starts with a timeslice, and is recording only once the recorder fired start", () => {
    const fake = new FakeRecorder();
    let started = 0;
    const r = recording(fake, { onStart: () => (started += 1) });
    expect(fake.calls).toEqual([`start ${TIMESLICE_MS}`]);
    expect(r.recording).toBe(false);
    expect(started).toBe(0);
    fake.fire("start");
    expect(r.recording).toBe(true);
    expect(started).toBe(1);
  });

  it("asks for the data not yet handed over before it stops, and keeps every non-empty chunk", async () => {
    const fake = new FakeRecorder();
    const r = recording(fake);
    fake.fire("start");
    fake.data(new Blob([WEBM_HEAD.slice(0, 4)]));
    fake.data(new Blob([]));
    const blob = await r.stop();
    expect(fake.calls).toEqual([`start ${TIMESLICE_MS}`, "requestData", "stop"]);
    expect(new Uint8Array(await blob.arrayBuffer())).toEqual(WEBM_HEAD);
    expect(await recordingProblem(blob)).toBeNull();
  });

  it("a recorder that never handed over data gives an empty blob, which is refused", async () => {
    const fake = new FakeMediaRecorder({} as MediaStream);
    const blob = await recording(fake).stop();
    expect(blob.size).toBe(0);
    expect(await recordingProblem(blob)).toMatch(/empty/);
  });
});

describe("recordingProblem", () => {
  it("refuses what is not a WebM", async () => {
    expect(await recordingProblem(new Blob(["not a webm"]))).toMatch(/not a WebM/);
    expect(await recordingProblem(new Blob([WEBM_HEAD]))).toBeNull();
  });
});

describe("recordingFileName", () => {
  it("names the file after the meeting and the start", () => {
    expect(recordingFileName("Weekly sync: Q3!", new Date("2030-01-02T03:04:05Z"))).toBe("parley-weekly-sync-q3-2030-01-02-03-04-05.webm");
  });
});
