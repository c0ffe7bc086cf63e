// Video filters applied to what the others receive: the camera is drawn into a canvas with a
// CSS filter and the canvas is captured as the outgoing video track (canvas.captureStream).

export type VideoFilter = "none" | "blur" | "grayscale";

export const VIDEO_FILTERS: Array<{ value: VideoFilter; label: string }> = [
  { value: "none", label: "None" },
  { value: "blur", label: "Blur" },
  { value: "grayscale", label: "Grayscale" },
];

export function cssFilter(filter: VideoFilter): string {
  switch (filter) {
    case "blur":
      return "blur(10px)";
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
    context.filter = cssFilter(this.filter);
    if (this.filter === "blur") {
      // Draw slightly larger so that the blur does not fade the edges to transparent.
      const pad = 20;
      context.drawImage(video, -pad, -pad, canvas.width + 2 * pad, canvas.height + 2 * pad);
    } else {
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
    }
  }
}
