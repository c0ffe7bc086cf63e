import { describe, expect, it } from "vitest";
import { matchRoute, safeNext } from "./router";

describe("matchRoute", () => {
  it("knows the app's routes", () => {
    expect(matchRoute("/")).toEqual({ name: "home" });
    expect(matchRoute("/signin")).toEqual({ name: "signin" });
    expect(matchRoute("/signup")).toEqual({ name: "signup" });
    expect(matchRoute("/contacts")).toEqual({ name: "contacts" });
    expect(matchRoute("/m/abc-defg-hij")).toEqual({ name: "meeting", meetingId: "abc-defg-hij" });
    expect(matchRoute("/m/abc/")).toEqual({ name: "meeting", meetingId: "abc" });
    expect(matchRoute("/m/a%20b")).toEqual({ name: "not-found" });
    expect(matchRoute("/elsewhere")).toEqual({ name: "not-found" });
  });
});

describe("safeNext", () => {
  it("allows same-site paths only", () => {
    expect(safeNext("/m/abc")).toBe("/m/abc");
    expect(safeNext(null)).toBe("/");
    expect(safeNext("https://evil.example/")).toBe("/");
    expect(safeNext("//evil.example/")).toBe("/");
    expect(safeNext("/\\evil.example")).toBe("/");
  });
});
