import type { HttpClient } from "./http";
import type { ChatHistoryPage, ChatMessage, Notes } from "./types";

const path = (id: string) => `/api/chat/meetings/${encodeURIComponent(id)}`;

export function chatApi(http: HttpClient) {
  return {
    /** `senderName`: the name used in this meeting (the pre-join's), else the account's. */
    post: (meetingId: string, messageId: string, text: string, senderName?: string) =>
      http.post<ChatMessage>(`${path(meetingId)}/messages`, { message_id: messageId, text, ...(senderName ? { sender_name: senderName } : {}) }),

    /** One page, newest first; pass `next_cursor` of the previous page as `before`. */
    history(meetingId: string, options: { limit?: number; before?: string | null } = {}) {
      const query = new URLSearchParams({ limit: String(options.limit ?? 50) });
      if (options.before) query.set("before", options.before);
      return http.get<ChatHistoryPage>(`${path(meetingId)}/messages?${query}`);
    },

    notes: (meetingId: string) => http.get<Notes>(`${path(meetingId)}/notes`),
    saveNotes: (meetingId: string, text: string, signal?: AbortSignal) =>
      http.put<Notes>(`${path(meetingId)}/notes`, { text }, { signal }),
  };
}
