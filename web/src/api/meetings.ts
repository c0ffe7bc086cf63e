import type { HttpClient } from "./http";
import type { JoinResult, Meeting, Membership } from "./types";

const path = (id: string) => `/api/meetings/${encodeURIComponent(id)}`;

export function meetingsApi(http: HttpClient) {
  return {
    create: (title: string, scheduledStart?: string | null) =>
      http.post<Meeting>("/api/meetings", scheduledStart ? { title, scheduled_start: scheduledStart } : { title }),
    list: async () => (await http.get<{ meetings: Meeting[] }>("/api/meetings")).meetings,
    get: (id: string) => http.get<Meeting>(path(id)),
    join: (id: string) => http.post<JoinResult>(`${path(id)}/join`),
    end: (id: string) => http.post<Meeting>(`${path(id)}/end`),
    membership: (id: string) => http.get<Membership>(`${path(id)}/membership`),
  };
}
