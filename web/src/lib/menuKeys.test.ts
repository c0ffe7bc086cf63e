import { describe, expect, it } from "vitest";
import { menuKeyTarget } from "./menuKeys";

describe("menuKeyTarget", () => {
  it("moves down and up, wrapping at both ends", () => {
    expect(menuKeyTarget("ArrowDown", 0, 4)).toBe(1);
    expect(menuKeyTarget("ArrowDown", 3, 4)).toBe(0);
    expect(menuKeyTarget("ArrowUp", 0, 4)).toBe(3);
    expect(menuKeyTarget("ArrowUp", 2, 4)).toBe(1);
  });

  it("treats right and left like down and up", () => {
    expect(menuKeyTarget("ArrowRight", 1, 4)).toBe(2);
    expect(menuKeyTarget("ArrowLeft", 1, 4)).toBe(0);
  });

  it("goes to the first and the last with Home and End", () => {
    expect(menuKeyTarget("Home", 2, 4)).toBe(0);
    expect(menuKeyTarget("End", 0, 4)).toBe(3);
  });

  it("leaves other keys and empty menus alone", () => {
    expect(menuKeyTarget("Enter", 1, 4)).toBeNull();
    expect(menuKeyTarget("a", 1, 4)).toBeNull();
    expect(menuKeyTarget("ArrowDown", 0, 0)).toBeNull();
  });
});
