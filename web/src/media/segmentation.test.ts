/// <reference types="node" />
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { locateSegmentationFile, SEGMENTATION_FILES } from "./segmentation";

const packageDir = dirname(createRequire(import.meta.url).resolve("@mediapipe/selfie_segmentation/package.json"));

describe("person segmentation files", () => {
  it("ships the landscape model, the graph and both runtimes from the npm package", () => {
    for (const name of Object.keys(SEGMENTATION_FILES)) {
      expect(existsSync(join(packageDir, name)), name).toBe(true);
    }
    expect(Object.keys(SEGMENTATION_FILES)).toContain("selfie_segmentation_landscape.tflite");
  });

  it("covers every runtime file the library loads by name", () => {
    const library = readFileSync(join(packageDir, "selfie_segmentation.js"), "utf8");
    const named = new Set<string>(library.match(/selfie_segmentation\w*\.(?:js|binarypb)/g) ?? []);
    named.delete("selfie_segmentation.js"); // the library itself, loaded by our script element
    expect(named.size).toBeGreaterThanOrEqual(3);
    for (const name of named) expect(Object.keys(SEGMENTATION_FILES), name).toContain(name);
  });

  it("points each name at its own URL and refuses a name the build does not ship", () => {
    const files = { "model.tflite": "/assets/model-abc.tflite" };
    expect(locateSegmentationFile("model.tflite", files)).toBe("/assets/model-abc.tflite");
    expect(() => locateSegmentationFile("selfie_segmentation.tflite", files)).toThrow(/does not ship/);
  });
});
