import { describe, expect, it } from "vitest";
import { describeSchedule, formatDuration, isoToWallTime, joinLead, notOpenYet, wallTimeToIso } from "./schedule";
import type { Meeting } from "../api/types";

describe("wall time in a time zone", () => {
  it("reads a datetime-local value in the chosen zone, whatever the browser's", () => {
    expect(wallTimeToIso("2030-05-04T09:30", "Europe/Paris")).toBe("2030-05-04T07:30:00.000Z");
    expect(wallTimeToIso("2030-01-04T09:30", "Europe/Paris")).toBe("2030-01-04T08:30:00.000Z");
    expect(wallTimeToIso("2030-05-04T09:30", "America/New_York")).toBe("2030-05-04T13:30:00.000Z");
    expect(wallTimeToIso("2030-05-04T09:30", "UTC")).toBe("2030-05-04T09:30:00.000Z");
  });

  it("refuses what is not a date-time", () => {
    expect(wallTimeToIso("", "UTC")).toBeNull();
    expect(wallTimeToIso("tomorrow", "UTC")).toBeNull();
  });

  it("shows an instant as wall time in the meeting's zone (the reschedule form's start)", () => {
    expect(isoToWallTime("2030-05-04T07:30:00Z", "Europe/Paris")).toBe("2030-05-04T09:30");
    expect(isoToWallTime("2030-05-04T13:30:00Z", "America/New_York")).toBe("2030-05-04T09:30");
    expect(isoToWallTime(null, "UTC")).toBe("");
  });
});

describe("the join window", () => {
  const meeting = { host_id: "h", status: "active", opens_at: "2030-05-04T07:15:00Z" } as Meeting;
  const before = Date.parse("2030-05-04T07:00:00Z");
  const after = Date.parse("2030-05-04T07:16:00Z");

  it("keeps participants waiting until opens_at, never the host", () => {
    expect(notOpenYet(meeting, "p", before)).toBe(true);
    expect(notOpenYet(meeting, "p", after)).toBe(false);
    expect(notOpenYet(meeting, "h", before)).toBe(false);
    expect(notOpenYet({ ...meeting, opens_at: null }, "p", before)).toBe(false);
  });

  it("keeps a guest waiting too: nobody's id is not the host's unknown id", () => {
    const asGuestSeesIt = { ...meeting, host_id: "" } as Meeting; // the public view names no host
    expect(notOpenYet(asGuestSeesIt, "", before)).toBe(true);
    expect(notOpenYet(asGuestSeesIt, "", after)).toBe(false);
  });
});

it("formats lengths", () => {
  expect([formatDuration(45), formatDuration(60), formatDuration(90)]).toEqual(["45 min", "1 h", "1 h 30 min"]);
});

describe("a schedule in words", () => {
  const meeting = { scheduled_start: "2030-05-04T13:30:00Z", opens_at: "2030-05-04T13:15:00Z", duration_minutes: 45, time_zone: "America/New_York" } as Meeting;

  it("adds the meeting's own zone when the reader's reads differently", () => {
    const text = describeSchedule(meeting, "Europe/Paris");
    expect(text).toContain("45 min");
    expect(text).toMatch(/\(.*09:30.* in New York\)$/);
    expect(describeSchedule(meeting, "America/New_York")).not.toContain("New York");
  });

  it("writes the year of a meeting in another year, not of one in this year", () => {
    expect(describeSchedule(meeting, "Europe/Paris")).toContain("2030");
    const soon = { ...meeting, scheduled_start: new Date(new Date().getFullYear(), 6, 1, 12).toISOString(), time_zone: null };
    expect(describeSchedule(soon, "UTC")).not.toContain(String(new Date().getFullYear()));
  });

  it("says how long before the start the meeting opens", () => {
    expect(joinLead(meeting)).toBe("15 minutes");
  });
});
