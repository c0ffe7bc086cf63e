/**
 * The incoming-call sound, synthesised with the Web Audio API (no downloaded asset): two short
 * tones of 440 + 480 Hz (the North American ring's pair), then a pause, repeated until stopped.
 */
export class Ringtone {
  private context: AudioContext | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;

  /** Start ringing; `true` once the audio context runs (a page without a user gesture may stay suspended). */
  async start(): Promise<boolean> {
    if (this.timer) return this.context?.state === "running";
    const Context = window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
    if (!Context) return false;
    this.context = new Context();
    const ring = () => {
      const ctx = this.context;
      if (!ctx) return;
      for (const offset of [0, 0.5]) this.burst(ctx, ctx.currentTime + offset, 0.4);
    };
    ring();
    this.timer = setInterval(ring, PERIOD_MS);
    try {
      await this.context.resume();
    } catch {
      // autoplay refused: the overlay still shows the call
    }
    return this.context?.state === "running";
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    void this.context?.close().catch(() => undefined);
    this.context = null;
  }

  private burst(ctx: AudioContext, at: number, seconds: number): void {
    const gain = ctx.createGain();
    gain.gain.setValueAtTime(0, at);
    gain.gain.linearRampToValueAtTime(0.15, at + 0.02);
    gain.gain.setValueAtTime(0.15, at + seconds - 0.05);
    gain.gain.linearRampToValueAtTime(0, at + seconds);
    gain.connect(ctx.destination);
    for (const frequency of [440, 480]) {
      const tone = ctx.createOscillator();
      tone.frequency.value = frequency;
      tone.connect(gain);
      tone.start(at);
      tone.stop(at + seconds);
    }
  }
}

/** One ring (two tones) every this many milliseconds. */
const PERIOD_MS = 3000;
