import { describe, expect, it } from "vitest";
import { meetingIdFrom } from "./meetingCode";

describe("meetingIdFrom", () => {
  it("takes a code, in any case, with spaces around", () => {
    expect(meetingIdFrom("abcd-efgh-ijkl")).toBe("abcd-efgh-ijkl");
    expect(meetingIdFrom("  ABCD-efgh-IJKL \n")).toBe("abcd-efgh-ijkl");
  });

  it("takes an invite link of any host", () => {
    expect(meetingIdFrom("https://parley.example/m/abcd-efgh-ijkl")).toBe("abcd-efgh-ijkl");
    expect(meetingIdFrom("http://127.0.0.1:8080/m/abcd-efgh-ijkl/")).toBe("abcd-efgh-ijkl");
    expect(meetingIdFrom("https://parley.example/m/abcd-efgh-ijkl?x=1#y")).toBe("abcd-efgh-ijkl");
  });

  it("refuses anything else", () => {
    for (const bad of ["", "abcd", "abcd-efgh-ijk", "abcd-efgh-ijkl-mnop", "abcd efgh ijkl", "javascript:alert(1)",
      "ftp://x/m/abcd-efgh-ijkl", "https://parley.example/x/abcd-efgh-ijkl", "https://parley.example/m/abcd-efgh-ijkl/more",
      "https://parley.example/m/abcd%2Defgh-ijkl", "/m/abcd-efgh-ijkl"]) {
      expect(meetingIdFrom(bad), bad).toBeNull();
    }
  });
});
