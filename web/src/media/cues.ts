/**
 * Short sounds for someone joining or leaving the room, synthesised with the Web Audio API (no
 * audio file): two quick notes, rising for a join, falling for a leave. The user can turn them
 * off; the choice is kept in localStorage (`parley.joinLeaveSounds` = `off`).
 */

const SETTING = "parley.joinLeaveSounds";

const NOTES: Record<"joined" | "left", [number, number]> = { joined: [660, 880], left: [880, 587] };

function storage(): Storage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null; // storage refused (privacy settings): the default applies
  }
}

/** Whether join and leave sounds are on (they are unless turned off). */
export function cuesEnabled(store: Storage | null = storage()): boolean {
  return store?.getItem(SETTING) !== "off";
}

export function setCuesEnabled(on: boolean, store: Storage | null = storage()): void {
  if (on) store?.removeItem(SETTING);
  else store?.setItem(SETTING, "off");
}

/** Plays the cues of one room; its audio context is made at the first cue and closed by `close()`. */
export class Cues {
  private context: AudioContext | null = null;

  constructor(private readonly enabled: () => boolean = () => cuesEnabled()) {}

  /** Plays the cue of `kind` when sounds are on; `true` if it was scheduled. */
  play(kind: "joined" | "left"): boolean {
    if (!this.enabled()) return false;
    const ctx = this.audioContext();
    if (!ctx) return false;
    if (ctx.state === "suspended") void ctx.resume().catch(() => undefined);
    const start = ctx.currentTime + 0.02;
    NOTES[kind].forEach((frequency, i) => this.note(ctx, frequency, start + i * 0.13, 0.12));
    return true;
  }

  close(): void {
    void this.context?.close().catch(() => undefined);
    this.context = null;
  }

  private audioContext(): AudioContext | null {
    if (this.context) return this.context;
    const Context = typeof window === "undefined" ? undefined : (window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext);
    this.context = Context ? new Context() : null;
    return this.context;
  }

  private note(ctx: AudioContext, frequency: number, at: number, seconds: number): void {
    const gain = ctx.createGain();
    gain.gain.setValueAtTime(0, at);
    gain.gain.linearRampToValueAtTime(0.08, at + 0.015);
    gain.gain.exponentialRampToValueAtTime(0.001, at + seconds);
    gain.connect(ctx.destination);
    const tone = ctx.createOscillator();
    tone.type = "sine";
    tone.frequency.value = frequency;
    tone.connect(gain);
    tone.start(at);
    tone.stop(at + seconds);
  }
}
