import type { Meeting } from "../api/types";
import { dateTimeOptions } from "./format";

/** Lengths a meeting can be scheduled for, in minutes (the API takes 5–1440). */
export const DURATIONS = [15, 30, 45, 60, 90, 120, 180] as const;

/** The browser's IANA time zone (what a new schedule is shown in by default). */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** Every IANA time zone the browser knows, `zone` first among them if missing. */
export function timeZones(zone: string): string[] {
  const known = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  const all = known.includes("UTC") ? known : [...known, "UTC"];
  return all.includes(zone) ? all : [zone, ...all];
}

/** "45 min" or "1 h 30 min". */
export function formatDuration(minutes: number): string {
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (!hours) return `${rest} min`;
  return rest ? `${hours} h ${rest} min` : `${hours} h`;
}

/** Whether a participant (not the host) must still wait: `opens_at` lies after `now` (ms). */
export function notOpenYet(meeting: Meeting, userId: string, now: number): boolean {
  if (!meeting.opens_at || (userId && meeting.host_id === userId) || meeting.status !== "active") return false;
  return Date.parse(meeting.opens_at) > now;
}

/** The wall-clock fields of instant ``ms`` in IANA ``zone``, as UTC milliseconds of the same fields. */
function wallClockMs(ms: number, zone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(ms));
  const field = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return Date.UTC(field("year"), field("month") - 1, field("day"), field("hour"), field("minute"), field("second"));
}

/** A `datetime-local` value (``2030-05-04T09:30``) read as wall time in IANA ``zone``, as an
 * ISO 8601 instant; null when it is not a date-time. In a daylight-saving gap the later
 * offset wins. */
export function wallTimeToIso(value: string, zone: string): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(value);
  if (!match) return null;
  const [, y, mo, d, h, mi] = match.map(Number);
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  let instant = wall - (wallClockMs(wall, zone) - wall);
  instant = wall - (wallClockMs(instant, zone) - instant); // the offset at the instant itself
  return Number.isNaN(instant) ? null : new Date(instant).toISOString();
}

/** The ISO instant as a `datetime-local` value: its wall time in IANA ``zone`` (minutes). */
export function isoToWallTime(iso: string | null, zone: string): string {
  if (!iso) return "";
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return "";
  return new Date(wallClockMs(ms, zone)).toISOString().slice(0, 16);
}

/** Save ``text`` (a calendar file) as a download named ``filename``. */
export function downloadCalendarFile(text: string, filename: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "text/calendar" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** When a scheduled meeting takes place, for people: the start in the reader's time zone and
 * its length, and the start in the meeting's zone when that reads differently
 * ("Fri, Dec 4, 6:36 AM · 45 min (1:36 AM in New York)"). */
export function describeSchedule(meeting: Meeting, readerZone = browserTimeZone()): string {
  if (!meeting.scheduled_start) return "";
  const start = new Date(meeting.scheduled_start);
  const options = dateTimeOptions(start);
  let text = start.toLocaleString(undefined, { ...options, timeZone: readerZone });
  if (meeting.duration_minutes) text += ` · ${formatDuration(meeting.duration_minutes)}`;
  const zone = meeting.time_zone;
  if (zone && start.toLocaleString(undefined, { ...options, timeZone: zone }) !== start.toLocaleString(undefined, { ...options, timeZone: readerZone })) {
    const there = start.toLocaleString(undefined, { ...options, timeZone: zone });
    text += ` (${there} in ${zone.split("/").pop()!.replaceAll("_", " ")})`;
  }
  return text;
}

/** "15 minutes" between a meeting's `opens_at` and its start. */
export function joinLead(meeting: Meeting): string {
  if (!meeting.opens_at || !meeting.scheduled_start) return "";
  const minutes = Math.round((Date.parse(meeting.scheduled_start) - Date.parse(meeting.opens_at)) / 60_000);
  return `${minutes} minute${minutes === 1 ? "" : "s"}`;
}
