import { useEffect, useRef, useState } from "preact/hooks";
import { analysisContext, LevelMeter, SpeakingTracker } from "../media/levels";

/** How often the levels are read. */
const SAMPLE_MS = 150;

/** The ids among `sources` (id → audio track) that are speaking now, read every 150 ms. One
 * audio context for the room; a meter per track, made when a track appears and closed when it
 * goes. */
export function useSpeaking(sources: ReadonlyMap<string, MediaStreamTrack>): Set<string> {
  const [speaking, setSpeaking] = useState<Set<string>>(new Set());
  const latest = useRef(sources);
  latest.current = sources;
  useEffect(() => {
    const context = analysisContext();
    if (!context) return;
    const meters = new Map<string, LevelMeter>();
    const tracker = new SpeakingTracker();
    let shown = "";
    const timer = setInterval(() => {
      if (context.state === "suspended") void context.resume().catch(() => undefined);
      const levels = new Map<string, number>();
      for (const [id, track] of latest.current) {
        let meter = meters.get(id);
        if (meter && meter.track !== track) {
          meter.close();
          meter = undefined;
        }
        if (!meter) {
          try {
            meter = new LevelMeter(context, track);
          } catch {
            continue; // e.g. a track that ended meanwhile
          }
          meters.set(id, meter);
        }
        levels.set(id, meter.level());
      }
      for (const [id, meter] of meters) {
        if (!latest.current.has(id)) {
          meter.close();
          meters.delete(id);
        }
      }
      const now = tracker.update(levels, performance.now());
      const key = [...now].sort().join(",");
      if (key !== shown) {
        shown = key;
        setSpeaking(now);
      }
    }, SAMPLE_MS);
    return () => {
      clearInterval(timer);
      for (const meter of meters.values()) meter.close();
      void context.close().catch(() => undefined);
    };
  }, []);
  return speaking;
}
