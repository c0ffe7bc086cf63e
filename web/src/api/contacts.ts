import type { HttpClient } from "./http";
import type { Contact, ContactList } from "./types";

const BASE = "/api/auth/contacts";

/** Contacts: docs/http-api.md, "Contacts". */
export function contactsApi(http: HttpClient) {
  return {
    /** The caller's contacts (with presence), invitations in and out, blocked users; `q` filters the contacts. */
    list: (q?: string) => http.get<ContactList>(q ? `${BASE}?q=${encodeURIComponent(q)}` : BASE),
    invite: (email: string) => http.post<Contact>(`${BASE}/invitations`, { email }),
    accept: (contactId: string) => http.post<Contact>(`${BASE}/${contactId}/accept`),
    decline: (contactId: string) => http.post<void>(`${BASE}/${contactId}/decline`),
    remove: (contactId: string) => http.delete<void>(`${BASE}/${contactId}`),
    block: (userId: string) => http.post<void>(`${BASE}/blocks`, { user_id: userId }),
    unblock: (userId: string) => http.delete<void>(`${BASE}/blocks/${encodeURIComponent(userId)}`),
  };
}
