import { describe, expect, it } from "vitest";
import { videoBitrateFor } from "./mesh";

describe("videoBitrateFor", () => {
  it("shares a 2.5 Mbit/s uplink between the peers of the mesh, within 300 kbit/s – 1.2 Mbit/s", () => {
    expect(videoBitrateFor(1)).toBe(1_200_000);
    expect(videoBitrateFor(2)).toBe(1_200_000);
    expect(videoBitrateFor(3)).toBe(833_333);
    expect(videoBitrateFor(5)).toBe(500_000);
    expect(videoBitrateFor(20)).toBe(300_000);
    expect(videoBitrateFor(0)).toBe(1_200_000);
  });
});
