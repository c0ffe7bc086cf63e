import type { HttpClient } from "./http";
import type { Admission, CalendarFeedState, JoinResult, Meeting, Membership, PublicMeeting, Roster, ScheduleInput, WaitingPerson } from "./types";

const path = (id: string) => `/api/meetings/${encodeURIComponent(id)}`;

export function meetingsApi(http: HttpClient) {
  return {
    /** A meeting now, or a scheduled one with `schedule`. */
    create: (title: string, schedule?: ScheduleInput | null, options?: { allow_guests?: boolean }) =>
      http.post<Meeting>("/api/meetings", { title, ...schedule, ...options }),
    /** The host changes the meeting's settings. */
    update: (id: string, changes: { allow_guests?: boolean; admission?: Admission }) => http.patch<Meeting>(path(id), changes),
    /** Title, status and `allow_guests`, without signing in (the guest's page). */
    publicInfo: (id: string) => http.get<PublicMeeting>(`${path(id)}/public`, { auth: false }),
    list: async () => (await http.get<{ meetings: Meeting[] }>("/api/meetings")).meetings,
    get: (id: string) => http.get<Meeting>(path(id)),
    /** Joins, or (`status` `waiting`) waits in the lobby. */
    join: (id: string) => http.post<JoinResult>(`${path(id)}/join`),
    /** Where we stand, changing nothing: `joined` or `waiting` (`not_in_lobby` when neither). */
    standing: (id: string) => http.get<JoinResult>(`${path(id)}/join`),
    /** Stops waiting in the lobby; `keepalive` lets a closing page still send it. */
    withdraw: (id: string, keepalive = false) => http.delete<void>(`${path(id)}/join`, { keepalive }),
    /** Host and co-hosts: who waits, and their decisions. */
    lobby: async (id: string) => (await http.get<{ waiting: WaitingPerson[] }>(`${path(id)}/lobby`)).waiting,
    admit: (id: string, userId: string) => http.post<void>(`${path(id)}/lobby/${encodeURIComponent(userId)}/admit`),
    deny: (id: string, userId: string) => http.post<void>(`${path(id)}/lobby/${encodeURIComponent(userId)}/deny`),
    admitAll: (id: string) => http.post<{ admitted: number }>(`${path(id)}/lobby/admit-all`),
    /** The host: make a participant a co-host, or a participant again. */
    setRole: (id: string, userId: string, role: "cohost" | "participant") =>
      http.put<void>(`${path(id)}/participants/${encodeURIComponent(userId)}/role`, { role }),
    /** Host and co-hosts: remove a participant (they cannot join again). */
    remove: (id: string, userId: string) => http.delete<void>(`${path(id)}/participants/${encodeURIComponent(userId)}`),
    end: (id: string) => http.post<Meeting>(`${path(id)}/end`),
    reschedule: (id: string, schedule: ScheduleInput) => http.put<Meeting>(`${path(id)}/schedule`, schedule),
    cancel: (id: string) => http.post<Meeting>(`${path(id)}/cancel`),
    /** The scheduled meeting's invitation (RFC 5545 text). */
    invitation: (id: string) => http.getText(`${path(id)}/invitation.ics`),
    membership: (id: string) => http.get<Membership>(`${path(id)}/membership`),
    /** Who is in the call now (participants only). */
    roster: (id: string) => http.get<Roster>(`${path(id)}/roster`),
    /** Whether the caller has a calendar feed, and since when (its address is shown only once). */
    calendarFeed: () => http.get<CalendarFeedState>("/api/meetings/calendar-feed"),
    /** A new private calendar feed address (an earlier one stops working). */
    createCalendarFeed: async () => (await http.post<{ url: string }>("/api/meetings/calendar-feed")).url,
    revokeCalendarFeed: () => http.delete<void>("/api/meetings/calendar-feed"),
  };
}
