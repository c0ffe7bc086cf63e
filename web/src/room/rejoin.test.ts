import { describe, expect, it } from "vitest";
import {
  forgetRejoin, GUEST_PASS_MARGIN_MS, guestPassOf, readGuestPass, readRejoin, REJOIN_WINDOW_MS, saveGuestPass, saveRejoin,
} from "./rejoin";
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

describe("a guest's pass for a reload", () => {
  const token = {
    access_token: "t0k",
    token_type: "Bearer" as const,
    expires_in: 3600,
    guest: { user_id: "guest-0123", display_name: "Grace", meeting_id: "m1" },
  };

  it("keeps the guest token of its meeting until the rejoin state is forgotten", () => {
    const storage = new MemoryStorage() as unknown as Storage;
    saveGuestPass("m1", guestPassOf(token, 1_000), storage);
    expect(readGuestPass("m1", storage, 2_000)).toEqual({
      accessToken: "t0k", expiresAt: 1_000 + 3_600_000, userId: "guest-0123", displayName: "Grace",
    });
    expect(readGuestPass("m2", storage, 2_000)).toBeNull();
    forgetRejoin("m1", storage);
    expect(readGuestPass("m1", storage, 2_000)).toBeNull();
  });

  it("ignores a pass about to expire or malformed", () => {
    const storage = new MemoryStorage() as unknown as Storage;
    saveGuestPass("m1", guestPassOf(token, 0), storage);
    expect(readGuestPass("m1", storage, 3_600_000 - GUEST_PASS_MARGIN_MS - 1)).not.toBeNull();
    expect(readGuestPass("m1", storage, 3_600_000 - GUEST_PASS_MARGIN_MS)).toBeNull();
    storage.setItem("parley.guest.m1", "{not json");
    expect(readGuestPass("m1", storage, 1)).toBeNull();
    storage.setItem("parley.guest.m1", JSON.stringify({ accessToken: 1, expiresAt: 9e12, userId: "g", displayName: "G" }));
    expect(readGuestPass("m1", storage, 1)).toBeNull();
  });
});
