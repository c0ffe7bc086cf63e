import { useMemo } from "preact/hooks";
import { DURATIONS, formatDuration, timeZones } from "../lib/schedule";

export interface ScheduleValue {
  /** The `datetime-local` input's value (local wall time). */
  when: string;
  duration: number;
  timeZone: string;
}

/** Date and time, length and time zone of a scheduled meeting (ids prefixed with ``idPrefix``). */
export function ScheduleFields({ idPrefix, value, onChange }: { idPrefix: string; value: ScheduleValue; onChange: (value: ScheduleValue) => void }) {
  const zones = useMemo(() => timeZones(value.timeZone), [value.timeZone]);
  return (
    <>
      <div class="field">
        <label for={`${idPrefix}-when`}>Date and time</label>
        <input id={`${idPrefix}-when`} type="datetime-local" required value={value.when} onInput={(e) => onChange({ ...value, when: e.currentTarget.value })} />
      </div>
      <div class="field-row">
        <div class="field">
          <label for={`${idPrefix}-duration`}>Length</label>
          <select id={`${idPrefix}-duration`} value={String(value.duration)} onChange={(e) => onChange({ ...value, duration: Number(e.currentTarget.value) })}>
            {DURATIONS.map((minutes) => (
              <option key={minutes} value={String(minutes)}>
                {formatDuration(minutes)}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for={`${idPrefix}-zone`}>Time zone</label>
          <select id={`${idPrefix}-zone`} value={value.timeZone} onChange={(e) => onChange({ ...value, timeZone: e.currentTarget.value })}>
            {zones.map((zone) => (
              <option key={zone} value={zone}>
                {zone.replaceAll("_", " ")}
              </option>
            ))}
          </select>
        </div>
      </div>
    </>
  );
}
