import type { HttpClient } from "./http";
import type { Call, CallList } from "./types";

const BASE = "/api/calls";
const path = (id: string) => `${BASE}/${encodeURIComponent(id)}`;

/** Direct calls: docs/http-api.md, "Calls". */
export function callsApi(http: HttpClient) {
  return {
    /** Ring a contact (409 `busy` when they are in a call, 409 `already_in_call` when the caller is). */
    place: (calleeId: string) => http.post<Call>(BASE, { callee_id: calleeId }),
    /** Ringing or accepted calls (`live`) and the history, newest first. */
    list: () => http.get<CallList>(BASE),
    accept: (id: string) => http.post<Call>(`${path(id)}/accept`),
    decline: (id: string) => http.post<Call>(`${path(id)}/decline`),
    cancel: (id: string) => http.post<Call>(`${path(id)}/cancel`),
    end: (id: string) => http.post<Call>(`${path(id)}/end`),
    /** Either party turns an accepted call into a meeting: its room stays, joinable by its link. */
    escalate: (id: string) => http.post<Call>(`${path(id)}/escalate`),
  };
}
