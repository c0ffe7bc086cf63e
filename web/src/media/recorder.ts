// Recording with MediaRecorder into a WebM file that the browser downloads. What is recorded
// (the meeting's composite, ./composite) is the caller's; this holds the recorder: when it
// really started, collecting its data, and refusing to offer an empty or unplayable file.

const CANDIDATE_TYPES = ["video/webm;codecs=vp8,opus", "video/webm;codecs=vp9,opus", "video/webm"];

/** How often the recorder hands over what it has (ms): a crash or a stop under load loses at most this. */
export const TIMESLICE_MS = 1_000;

/** The first bytes of every WebM (Matroska) file: the EBML header's id. */
const EBML_MAGIC = [0x1a, 0x45, 0xdf, 0xa3];

export function pickRecordingType(isSupported: (type: string) => boolean = (t) => MediaRecorder.isTypeSupported(t)): string {
  return CANDIDATE_TYPES.find((t) => isSupported(t)) ?? "";
}

export function recordingFileName(title: string, startedAt: Date): string {
  const slug = title.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40) || "meeting";
  const stamp = startedAt.toISOString().slice(0, 19).replace(/[:T]/g, "-");
  return `parley-${slug}-${stamp}.webm`;
}

/** Why `blob` is not a file to offer, in words, or null when it is a non-empty WebM. */
export async function recordingProblem(blob: Blob): Promise<string | null> {
  if (blob.size === 0) return "The recording is empty: the browser handed over no data. Nothing was saved.";
  const head = new Uint8Array(await blob.slice(0, EBML_MAGIC.length).arrayBuffer());
  if (!EBML_MAGIC.every((byte, i) => head[i] === byte)) return "The recording is damaged (it is not a WebM file). Nothing was saved.";
  return null;
}

/** The part of MediaRecorder a Recording uses (a fake in unit tests). */
export type RecorderLike = Pick<MediaRecorder, "state" | "start" | "stop" | "requestData" | "addEventListener">;

export interface RecordingEvents {
  /** The recorder really started (its `start` event). */
  onStart?: () => void;
  /** The recorder failed (its `error` event); it stops. */
  onError?: (message: string) => void;
}

export class Recording {
  private readonly recorder: RecorderLike;
  private readonly chunks: Blob[] = [];
  private readonly done: Promise<Blob>;
  private started = false;
  readonly startedAt = new Date();

  constructor(stream: MediaStream, events: RecordingEvents = {}, create: (stream: MediaStream) => RecorderLike = defaultRecorder) {
    this.recorder = create(stream);
    this.done = new Promise((resolve) => {
      this.recorder.addEventListener("dataavailable", (event) => {
        const data = (event as BlobEvent).data;
        if (data && data.size > 0) this.chunks.push(data);
      });
      this.recorder.addEventListener("start", () => {
        this.started = true;
        events.onStart?.();
      });
      this.recorder.addEventListener("error", (event) => {
        const error = (event as Event & { error?: DOMException }).error;
        events.onError?.(error?.message || "the recorder failed");
      });
      this.recorder.addEventListener("stop", () => resolve(new Blob(this.chunks, { type: "video/webm" })));
    });
    this.recorder.start(TIMESLICE_MS);
  }

  /** Whether the recorder fired `start` (it records now). */
  get recording(): boolean {
    return this.started && this.recorder.state === "recording";
  }

  /** Stops, after asking for the data not yet handed over; the whole recording. */
  stop(): Promise<Blob> {
    if (this.recorder.state === "recording") {
      try {
        this.recorder.requestData();
      } catch {
        // stop() hands over the rest as well
      }
    }
    if (this.recorder.state !== "inactive") this.recorder.stop();
    return this.done;
  }
}

function defaultRecorder(stream: MediaStream): RecorderLike {
  const mimeType = pickRecordingType();
  return new MediaRecorder(stream, mimeType ? { mimeType, videoBitsPerSecond: 2_500_000 } : undefined);
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
