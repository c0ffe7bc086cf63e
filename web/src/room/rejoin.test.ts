import { describe, expect, it } from "vitest";
import { forgetRejoin, readRejoin, REJOIN_WINDOW_MS, saveRejoin } from "./rejoin";
import { MemoryStorage } from "../testing/fakes";

describe("rejoin after a reload", () => {
  it("remembers the microphone, camera and name per meeting until forgotten", () => {
    const storage = new MemoryStorage() as unknown as Storage;
    saveRejoin("m1", { micOn: false, cameraOn: true, displayName: "Ada" }, storage, 1_000);
    expect(readRejoin("m1", storage, 2_000)).toEqual({ micOn: false, cameraOn: true, displayName: "Ada", savedAt: 1_000 });
    expect(readRejoin("m2", storage, 2_000)).toBeNull();
    forgetRejoin("m1", storage);
    expect(readRejoin("m1", storage, 2_000)).toBeNull();
  });

  it("ignores a stale or malformed entry", () => {
    const storage = new MemoryStorage() as unknown as Storage;
    saveRejoin("m1", { micOn: true, cameraOn: true, displayName: "Ada" }, storage, 0);
    expect(readRejoin("m1", storage, REJOIN_WINDOW_MS + 1)).toBeNull();
    storage.setItem("parley.rejoin.m1", "{not json");
    expect(readRejoin("m1", storage, 1)).toBeNull();
    storage.setItem("parley.rejoin.m1", JSON.stringify({ micOn: "yes", cameraOn: true, displayName: "Ada", savedAt: 1 }));
    expect(readRejoin("m1", storage, 1)).toBeNull();
  });
});
