import { useEffect, useState } from "preact/hooks";
import { analysisContext, LevelMeter } from "../media/levels";

/** A level of speech reads about 0.05–0.2 RMS: shown ×5, capped at full. */
const SCALE = 5;

/** The microphone's level as a `meter` ("Microphone level"), read from a clone of the track
 * that stays enabled (so it moves while the microphone is off too: a check before joining). */
export function MicLevel({ track }: { track: MediaStreamTrack | null }) {
  const [level, setLevel] = useState(0);
  useEffect(() => {
    if (!track) return setLevel(0);
    const context = analysisContext();
    if (!context) return;
    const probe = track.clone();
    probe.enabled = true;
    const meter = new LevelMeter(context, probe);
    const timer = setInterval(() => {
      if (context.state === "suspended") void context.resume().catch(() => undefined);
      setLevel(Math.min(1, meter.level() * SCALE));
    }, 100);
    return () => {
      clearInterval(timer);
      meter.close();
      probe.stop();
      void context.close().catch(() => undefined);
    };
  }, [track]);
  return (
    <div class="mic-level">
      <label for="mic-level">Microphone level</label>
      <meter id="mic-level" data-testid="mic-level" min={0} max={1} low={0.05} high={0.9} optimum={0.5} value={Number(level.toFixed(2))} />
    </div>
  );
}
