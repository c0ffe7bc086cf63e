// Person segmentation for the "Background blur" filter: MediaPipe Selfie Segmentation (npm
// package @mediapipe/selfie_segmentation, Apache-2.0). The package ships everything it needs:
// the model (selfie_segmentation_landscape.tflite, 250 KB, the variant meant for video calls),
// the graph (.binarypb) and the WebAssembly runtime. Each file is imported with `?url&no-inline`,
// so Vite copies it into the build as a content-hashed file under /assets/ and our web service
// serves it: nothing is fetched from another origin, at build time or at run time.
//
// The library is a classic script that defines `SelfieSegmentation` on the window and loads its
// runtime with a second script element, then compiles WebAssembly (which the Content-Security-
// Policy allows with 'wasm-unsafe-eval' in script-src) and runs the model with WebGL. It is
// loaded only when someone first chooses "Background blur" (about 6 MB of WebAssembly).

import type { Results, SelfieSegmentation } from "@mediapipe/selfie_segmentation";
import script from "@mediapipe/selfie_segmentation/selfie_segmentation.js?url&no-inline";
import graph from "@mediapipe/selfie_segmentation/selfie_segmentation.binarypb?url&no-inline";
import model from "@mediapipe/selfie_segmentation/selfie_segmentation_landscape.tflite?url&no-inline";
import simdRuntime from "@mediapipe/selfie_segmentation/selfie_segmentation_solution_simd_wasm_bin.js?url&no-inline";
import simdWasm from "@mediapipe/selfie_segmentation/selfie_segmentation_solution_simd_wasm_bin.wasm?url&no-inline";
import runtime from "@mediapipe/selfie_segmentation/selfie_segmentation_solution_wasm_bin.js?url&no-inline";
import wasm from "@mediapipe/selfie_segmentation/selfie_segmentation_solution_wasm_bin.wasm?url&no-inline";

export type { Results as SegmentationResults };

/** The landscape model (144x256): faster than the square one, made for video calls. */
const LANDSCAPE_MODEL = 1;

/** Where each file the library asks for by name is in our build. */
export const SEGMENTATION_FILES: Readonly<Record<string, string>> = {
  "selfie_segmentation.binarypb": graph,
  "selfie_segmentation_landscape.tflite": model,
  "selfie_segmentation_solution_simd_wasm_bin.js": simdRuntime,
  "selfie_segmentation_solution_simd_wasm_bin.wasm": simdWasm,
  "selfie_segmentation_solution_wasm_bin.js": runtime,
  "selfie_segmentation_solution_wasm_bin.wasm": wasm,
};

/** The URL of a file the library asks for; an unknown name is an error, never a guess. */
export function locateSegmentationFile(name: string, files: Readonly<Record<string, string>> = SEGMENTATION_FILES): string {
  const url = files[name];
  if (!url) throw new Error(`Person segmentation asked for ${name}, which the build does not ship`);
  return url;
}

type SelfieSegmentationClass = typeof SelfieSegmentation;
let loading: Promise<SelfieSegmentationClass> | null = null;

/** The library's class, its script added to the page once. */
function loadLibrary(): Promise<SelfieSegmentationClass> {
  const existing = (window as unknown as { SelfieSegmentation?: SelfieSegmentationClass }).SelfieSegmentation;
  if (existing) return Promise.resolve(existing);
  loading ??= new Promise<SelfieSegmentationClass>((resolve, reject) => {
    const element = document.createElement("script");
    element.src = script;
    element.addEventListener("load", () => {
      const loaded = (window as unknown as { SelfieSegmentation?: SelfieSegmentationClass }).SelfieSegmentation;
      if (loaded) resolve(loaded);
      else reject(new Error("The person segmentation script defined no SelfieSegmentation"));
    });
    element.addEventListener("error", () => reject(new Error("The person segmentation script did not load")));
    document.head.append(element);
  }).catch((error: unknown) => {
    loading = null; // a later choice of "Background blur" tries again
    throw error;
  });
  return loading;
}

/**
 * A person segmenter: `segment(frame)` resolves once `onResults` was called with the frame and
 * its mask (opaque where a person is); the mask and the frame are valid only during that call.
 */
export class PersonSegmenter {
  private constructor(private readonly solution: SelfieSegmentation) {}

  static async create(onResults: (results: Results) => void): Promise<PersonSegmenter> {
    const Solution = await loadLibrary();
    const solution = new Solution({ locateFile: (name) => locateSegmentationFile(name) });
    solution.setOptions({ modelSelection: LANDSCAPE_MODEL, selfieMode: false });
    solution.onResults(onResults);
    await solution.initialize();
    return new PersonSegmenter(solution);
  }

  segment(frame: HTMLVideoElement): Promise<void> {
    return this.solution.send({ image: frame });
  }

  close(): void {
    void this.solution.close().catch(() => undefined);
  }
}
