import { describe, expect, it } from "vitest";
import { fit, layoutTiles } from "./composite";

const cam = { screen: false };
const screen = { screen: true };

describe("layoutTiles", () => {
  it("one tile fills the canvas", () => {
    expect(layoutTiles([cam], 1280, 720)).toEqual([{ x: 0, y: 0, w: 1280, h: 720 }]);
  });

  it("a grid of two columns, a short last row centred", () => {
    const rects = layoutTiles([cam, cam, cam], 1280, 720);
    expect(rects[0]).toEqual({ x: 0, y: 0, w: 636, h: 356 });
    expect(rects[1]).toEqual({ x: 644, y: 0, w: 636, h: 356 });
    expect(rects[2]).toEqual({ x: 322, y: 364, w: 636, h: 356 }); // centred under the two
    expect(layoutTiles(Array(5).fill(cam), 1280, 720).length).toBe(5);
  });

  it("a shared screen is the large tile, the cameras a strip beside it", () => {
    const rects = layoutTiles([cam, cam, screen], 1280, 720);
    expect(rects[2]).toEqual({ x: 0, y: 0, w: 998, h: 720 });
    for (const r of [rects[0], rects[1]]) {
      expect(r.x).toBe(1006);
      expect(r.w).toBe(274);
    }
    expect(rects[1].y).toBeGreaterThan(rects[0].y + rects[0].h);
  });
});

describe("fit", () => {
  it("crops a camera to the tile and letterboxes a screen", () => {
    const rect = { x: 0, y: 0, w: 100, h: 100 };
    expect(fit(200, 100, rect, false)).toEqual({ sx: 50, sy: 0, sw: 100, sh: 100, dx: 0, dy: 0, dw: 100, dh: 100 });
    expect(fit(200, 100, rect, true)).toEqual({ sx: 0, sy: 0, sw: 200, sh: 100, dx: 0, dy: 25, dw: 100, dh: 50 });
  });
});
