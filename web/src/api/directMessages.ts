import type { HttpClient } from "./http";
import type { Conversation, DirectHistoryPage, DirectMessage } from "./types";

const path = (peerId: string) => `/api/chat/conversations/${encodeURIComponent(peerId)}`;

/** Direct messages (docs/http-api.md, "Direct messages"): a conversation is addressed by the other user's id. */
export function directMessagesApi(http: HttpClient) {
  return {
    conversations: () => http.get<{ conversations: Conversation[] }>("/api/chat/conversations").then((r) => r.conversations),

    post: (peerId: string, messageId: string, text: string) =>
      http.post<DirectMessage>(`${path(peerId)}/messages`, { message_id: messageId, text }),

    /** One page, newest first; pass `next_cursor` of the previous page as `before`. */
    history(peerId: string, options: { limit?: number; before?: string | null } = {}) {
      const query = new URLSearchParams({ limit: String(options.limit ?? 50) });
      if (options.before) query.set("before", options.before);
      return http.get<DirectHistoryPage>(`${path(peerId)}/messages?${query}`);
    },

    /** Mark read up to `seq` (default: the newest message). */
    read: (peerId: string, seq?: number) => http.post<Conversation>(`${path(peerId)}/read`, seq ? { seq } : {}),
  };
}
