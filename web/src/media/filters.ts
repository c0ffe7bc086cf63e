// Video filters applied to what the others receive: the camera is drawn into a canvas with a
// CSS filter and the canvas is captured as the outgoing video track (canvas.captureStream).
// "Background blur" blurs all but the person, whom a segmentation model finds in each frame
// (./segmentation.ts).

import { PersonSegmenter, type SegmentationResults } from "./segmentation";

export type VideoFilter = "none" | "blur" | "background-blur" | "grayscale";

export const VIDEO_FILTERS: Array<{ value: VideoFilter; label: string }> = [
  { value: "none", label: "None" },
  { value: "blur", label: "Blur" },
  { value: "background-blur", label: "Background blur" },
  { value: "grayscale", label: "Grayscale" },
];

const BLUR = "blur(10px)";
/** Drawn this much larger on each side when blurred, so that the blur does not fade the edges
 * to transparent. */
const BLUR_PAD = 20;

export function cssFilter(filter: VideoFilter): string {
  switch (filter) {
    case "blur":
    case "background-blur": // the background's; the person is drawn unfiltered over it
      return BLUR;
    case "grayscale":
      return "grayscale(1)";
    default:
      return "none";
  }
}

const FPS = 24;

/**
 * Draws `source` through a filter into a canvas and exposes the canvas as `output`, a video
 * track that can be sent instead of the camera. The source can be swapped (another camera)
 * without changing `output`, so the peer connections keep their sender.
 */
export class FilterPipeline {
  readonly output: MediaStreamTrack;
  private readonly video: HTMLVideoElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly context: CanvasRenderingContext2D;
  private timer: ReturnType<typeof setInterval> | null = null;
  /** "Background blur"'s segmenter: made when first chosen, kept while the pipeline lives. */
  private segmenter: Promise<PersonSegmenter | null> | null = null;
  /** A frame is being segmented: the timer's ticks meanwhile draw nothing new. */
  private segmenting = false;

  constructor(
    private source: MediaStreamTrack,
    private filter: VideoFilter,
  ) {
    this.video = document.createElement("video");
    this.video.muted = true;
    this.video.playsInline = true;
    this.canvas = document.createElement("canvas");
    const settings = source.getSettings();
    this.canvas.width = settings.width ?? 640;
    this.canvas.height = settings.height ?? 360;
    const context = this.canvas.getContext("2d");
    if (!context) throw new Error("Canvas 2D is not available");
    this.context = context;
    this.attach(source);
    const stream = this.canvas.captureStream(FPS);
    this.output = stream.getVideoTracks()[0];
    // A timer rather than requestAnimationFrame: frames keep flowing when the tab is hidden.
    this.timer = setInterval(() => this.draw(), 1000 / FPS);
  }

  setFilter(filter: VideoFilter): void {
    this.filter = filter;
    if (filter === "background-blur") this.startSegmenter();
  }

  setSource(source: MediaStreamTrack): void {
    this.source = source;
    this.attach(source);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.output.stop();
    this.video.srcObject = null;
    void this.segmenter?.then((segmenter) => segmenter?.close());
    this.segmenter = null;
  }

  private startSegmenter(): void {
    this.segmenter ??= PersonSegmenter.create((results) => this.drawBackgroundBlur(results)).catch((error: unknown) => {
      // Without a segmenter the whole frame stays blurred: the background is never shown.
      console.warn("Background blur: person segmentation is not available", error);
      return null;
    });
  }

  private attach(source: MediaStreamTrack): void {
    this.video.srcObject = new MediaStream([source]);
    void this.video.play().catch(() => undefined);
  }

  private draw(): void {
    const { video, canvas, context } = this;
    if (video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA || !this.source.enabled) return;
    if (video.videoWidth && (canvas.width !== video.videoWidth || canvas.height !== video.videoHeight)) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
    }
    if (this.filter === "background-blur") {
      this.segmentFrame();
      return;
    }
    context.filter = cssFilter(this.filter);
    if (this.filter === "blur") {
      this.drawBlurred(video);
    } else {
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
    }
  }

  private drawBlurred(frame: CanvasImageSource): void {
    const { canvas, context } = this;
    context.drawImage(frame, -BLUR_PAD, -BLUR_PAD, canvas.width + 2 * BLUR_PAD, canvas.height + 2 * BLUR_PAD);
  }

  /** Sends the current frame to the segmenter (one at a time); until the segmenter is ready,
   * or if it cannot run here, the whole frame is blurred. */
  private segmentFrame(): void {
    if (this.segmenting) return;
    this.segmenting = true;
    this.startSegmenter();
    void this.segmenter!.then(async (segmenter) => {
      if (segmenter && this.filter === "background-blur") {
        await segmenter.segment(this.video);
      } else if (this.filter === "background-blur") {
        this.context.filter = BLUR;
        this.drawBlurred(this.video);
      }
    })
      .catch((error: unknown) => console.warn("Background blur: a frame was not segmented", error))
      .finally(() => {
        this.segmenting = false;
      });
  }

  /** The person (where the mask is opaque) sharp over the blurred frame. */
  private drawBackgroundBlur({ image, segmentationMask }: SegmentationResults): void {
    if (this.filter !== "background-blur") return;
    const { canvas, context } = this;
    const { width, height } = canvas;
    context.save();
    context.clearRect(0, 0, width, height);
    context.filter = "none";
    context.drawImage(segmentationMask, 0, 0, width, height);
    context.globalCompositeOperation = "source-in";
    context.drawImage(image, 0, 0, width, height);
    context.globalCompositeOperation = "destination-over";
    context.filter = BLUR;
    this.drawBlurred(image);
    context.restore();
  }
}
