import { describe, expect, it } from "vitest";
import { classifyMediaError, describeMediaFailure } from "./devices";

describe("classifyMediaError", () => {
  it("names the usual getUserMedia failures", () => {
    expect(classifyMediaError(new DOMException("x", "NotAllowedError"))).toBe("denied");
    expect(classifyMediaError(new DOMException("x", "NotFoundError"))).toBe("not-found");
    expect(classifyMediaError(new DOMException("x", "NotReadableError"))).toBe("in-use");
    expect(classifyMediaError(new Error("?"))).toBe("other");
  });
});

describe("describeMediaFailure", () => {
  it("says what was denied and offers what is left before joining", () => {
    expect(describeMediaFailure("denied", { audio: true, video: false })).toBe(
      "Camera or microphone access was denied. You can join with audio only.",
    );
    expect(describeMediaFailure("denied", { audio: false, video: false })).toMatch(/without camera and microphone/);
  });
  it("tells how to allow access when asked again later", () => {
    expect(describeMediaFailure("denied", { audio: false, video: false }, true)).toMatch(/site settings/);
  });
});
