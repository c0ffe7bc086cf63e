// Recording with MediaRecorder into a WebM file that the browser downloads.

const CANDIDATE_TYPES = ["video/webm;codecs=vp9,opus", "video/webm;codecs=vp8,opus", "video/webm"];

export function pickRecordingType(isSupported: (type: string) => boolean = (t) => MediaRecorder.isTypeSupported(t)): string {
  return CANDIDATE_TYPES.find((t) => isSupported(t)) ?? "";
}

export function recordingFileName(title: string, startedAt: Date): string {
  const slug = title.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40) || "meeting";
  const stamp = startedAt.toISOString().slice(0, 19).replace(/[:T]/g, "-");
  return `parley-${slug}-${stamp}.webm`;
}

export class Recording {
  private readonly recorder: MediaRecorder;
  private readonly chunks: Blob[] = [];
  private readonly done: Promise<Blob>;
  readonly startedAt = new Date();

  constructor(stream: MediaStream) {
    const mimeType = pickRecordingType();
    this.recorder = new MediaRecorder(stream, mimeType ? { mimeType } : undefined);
    this.done = new Promise((resolve) => {
      this.recorder.addEventListener("dataavailable", (event) => {
        if (event.data.size > 0) this.chunks.push(event.data);
      });
      this.recorder.addEventListener("stop", () => resolve(new Blob(this.chunks, { type: "video/webm" })));
    });
    this.recorder.start(1000);
  }

  get active(): boolean {
    return this.recorder.state !== "inactive";
  }

  stop(): Promise<Blob> {
    if (this.recorder.state !== "inactive") this.recorder.stop();
    return this.done;
  }
}

export function downloadBlob(blob: Blob, fileName: string): string {
  const url = URL.createObjectURL(blob);
  const anchor = document.createElement("a");
  anchor.href = url;
  anchor.download = fileName;
  anchor.style.display = "none";
  document.body.appendChild(anchor);
  anchor.click();
  anchor.remove();
  return url;
}
