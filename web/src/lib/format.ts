/** How a date and time are written: "Tue 3 Mar, 14:30", with the year ("Sun 1 Jun 2031, 10:00")
 * when it is not this year's. */
export function dateTimeOptions(date: Date, now = new Date()): Intl.DateTimeFormatOptions {
  const options: Intl.DateTimeFormatOptions = { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
  return date.getFullYear() === now.getFullYear() ? options : { ...options, year: "numeric" };
}

/** A date and time in the user's locale and time zone ({@link dateTimeOptions}). */
export function formatDateTime(iso: string | null): string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, dateTimeOptions(date));
}

export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

/** A message for a caught error, in words. */
export function describeError(err: unknown, fallback = "Something went wrong"): string {
  if (err instanceof Error && err.message) return err.message;
  return fallback;
}
