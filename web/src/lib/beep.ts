/**
 * A short two-note chime, synthesised with the Web Audio API (no downloaded asset): what the
 * host and co-hosts hear when someone starts waiting in the lobby. One AudioContext is kept
 * for the page (browsers limit how many may exist); a page without a user gesture may keep it
 * suspended, and then nothing is heard (the lobby still shows the person).
 */
let context: AudioContext | null = null;

/** How many chimes this page played (the browser tests read it from the lobby notice). */
export let beepsPlayed = 0;

export function beep(): void {
  const Context = window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
  if (!Context) return;
  context ??= new Context();
  const ctx = context;
  void ctx.resume().catch(() => undefined);
  for (const [offset, frequency] of [
    [0, 660],
    [0.18, 880],
  ] as const) {
    const at = ctx.currentTime + offset;
    const oscillator = ctx.createOscillator();
    const gain = ctx.createGain();
    oscillator.type = "sine";
    oscillator.frequency.setValueAtTime(frequency, at);
    gain.gain.setValueAtTime(0, at);
    gain.gain.linearRampToValueAtTime(0.12, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.16);
    oscillator.connect(gain).connect(ctx.destination);
    oscillator.start(at);
    oscillator.stop(at + 0.17);
  }
  beepsPlayed += 1;
}
