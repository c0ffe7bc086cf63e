import { describe, expect, it } from "vitest";
import { featuredTile, gridColumns, screenKey, shareOrder } from "./layout";

describe("featuredTile", () => {
  const keys = ["a", "b", "c", screenKey("b")];

  it("is the grid when nobody shares, pins or spotlights", () => {
    expect(featuredTile({ keys: ["a", "b", "c"], pinned: null, shares: [] })).toBeNull();
  });

  it("shows a shared screen large", () => {
    expect(featuredTile({ keys, pinned: null, shares: [screenKey("b")] })).toEqual({ key: "b:screen", reason: "presentation" });
  });

  it("shows the latest of several shared screens", () => {
    const both = [...keys, screenKey("c")];
    expect(featuredTile({ keys: both, pinned: null, shares: [screenKey("c"), screenKey("b")] })?.key).toBe("b:screen");
  });

  it("lets this viewer's pin win over a presentation and a spotlight", () => {
    expect(featuredTile({ keys, pinned: "c", spotlight: "a", shares: [screenKey("b")] })).toEqual({ key: "c", reason: "pin" });
  });

  it("lets a spotlight win over a presentation", () => {
    expect(featuredTile({ keys, pinned: null, spotlight: "a", shares: [screenKey("b")] })).toEqual({ key: "a", reason: "spotlight" });
  });

  it("ignores a pin or a spotlight on a tile that is gone", () => {
    expect(featuredTile({ keys, pinned: "gone", spotlight: "left", shares: [screenKey("b")] })?.reason).toBe("presentation");
    expect(featuredTile({ keys: ["a", "b"], pinned: "gone", shares: [screenKey("b")] })).toBeNull();
  });
});

describe("shareOrder", () => {
  it("appends new shares and drops stopped ones, keeping the order they started in", () => {
    expect(shareOrder([], ["x:screen"])).toEqual(["x:screen"]);
    expect(shareOrder(["y:screen"], ["x:screen", "y:screen"])).toEqual(["y:screen", "x:screen"]);
    expect(shareOrder(["y:screen", "x:screen"], ["x:screen"])).toEqual(["x:screen"]);
  });

  it("returns the same array when nothing changed", () => {
    const before = ["y:screen", "x:screen"];
    expect(shareOrder(before, ["x:screen", "y:screen"])).toBe(before);
  });
});

describe("gridColumns", () => {
  it("uses two columns for two to four tiles and three beyond; one column on a phone up to three", () => {
    expect([1, 2, 3, 4, 5, 9].map((n) => gridColumns(n).wide)).toEqual([1, 2, 2, 2, 3, 3]);
    expect([1, 3, 4, 6].map((n) => gridColumns(n).narrow)).toEqual([1, 1, 2, 2]);
  });
});
