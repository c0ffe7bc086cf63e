/**
 * Who is speaking, from audio levels: a Web Audio AnalyserNode per audio track (the remote
 * participants' microphones as received, and a clone of our own microphone that stays enabled
 * even while we are muted, for analysis only: nothing is sent from it).
 */

/** The RMS level (0..1) above which a track counts as speech. */
export const SPEAKING_LEVEL = 0.015;
/** A speaker stays "speaking" this long after its last loud moment (pauses between words). */
export const SPEAKING_HOLD_MS = 1_200;

/** The RMS of a time-domain frame of samples (-1..1). */
export function rms(samples: Float32Array): number {
  let sum = 0;
  for (const s of samples) sum += s * s;
  return samples.length ? Math.sqrt(sum / samples.length) : 0;
}

/** Remembers when each source was last loud; `speaking(now)` is those loud within the hold. */
export class SpeakingTracker {
  private readonly lastLoud = new Map<string, number>();

  constructor(
    private readonly threshold = SPEAKING_LEVEL,
    private readonly holdMs = SPEAKING_HOLD_MS,
  ) {}

  update(levels: ReadonlyMap<string, number>, now: number): Set<string> {
    for (const [id, level] of levels) if (level >= this.threshold) this.lastLoud.set(id, now);
    for (const id of [...this.lastLoud.keys()]) if (!levels.has(id)) this.lastLoud.delete(id);
    return new Set([...this.lastLoud].filter(([, at]) => now - at <= this.holdMs).map(([id]) => id));
  }
}

/** One track's level, read on demand. */
export class LevelMeter {
  private readonly source: MediaStreamAudioSourceNode;
  private readonly analyser: AnalyserNode;
  private readonly buffer: Float32Array<ArrayBuffer>;

  constructor(context: AudioContext, readonly track: MediaStreamTrack) {
    this.source = context.createMediaStreamSource(new MediaStream([track]));
    this.analyser = context.createAnalyser();
    this.analyser.fftSize = 1024;
    this.buffer = new Float32Array(this.analyser.fftSize);
    this.source.connect(this.analyser);
  }

  level(): number {
    this.analyser.getFloatTimeDomainData(this.buffer);
    return rms(this.buffer);
  }

  close(): void {
    this.source.disconnect();
  }
}

/** Makes an audio context for analysis, or null without Web Audio. */
export function analysisContext(): AudioContext | null {
  const Context = typeof window === "undefined" ? undefined : (window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext);
  return Context ? new Context() : null;
}
