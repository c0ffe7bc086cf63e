// Shapes of docs/http-api.md (v1) and the notes API of docs/web-client.md.

export interface User {
  user_id: string;
  email: string;
  display_name: string;
}

export interface TokenPair {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  /** Only for non-browser clients: a browser gets it in the HttpOnly `parley_refresh` cookie. */
  refresh_token?: string;
  user: User;
}

export type MeetingStatus = "active" | "ended";

export interface Meeting {
  meeting_id: string;
  title: string;
  host_id: string;
  scheduled_start: string | null;
  status: MeetingStatus;
  created_at: string;
  ended_at: string | null;
  invite_url: string;
}

export type Role = "host" | "participant";

export interface JoinResult {
  meeting: Meeting;
  role: Role;
}

export interface Membership {
  meeting_id: string;
  user_id: string;
  role: Role;
  status: MeetingStatus;
}

export interface ChatMessage {
  message_id: string;
  meeting_id: string;
  sender_id: string;
  sender_name: string;
  text: string;
  posted_at: string;
  /** Position in the meeting (1, 2, 3, …): history and live delivery follow it. Absent only on
   * our own copy of a message not confirmed yet. */
  seq?: number;
}

export interface ChatHistoryPage {
  messages: ChatMessage[];
  next_cursor: string | null;
}

export interface Notes {
  meeting_id: string;
  text: string;
  updated_at: string | null;
}

export interface IceServerConfig {
  urls: string[];
  username?: string;
  credential?: string;
}

export interface TurnCredentials {
  iceServers: IceServerConfig[];
  ttl: number;
  expires_at: string;
}

/** `{"detail": {"code", "message"}}`, or FastAPI's validation list on 422. */
export interface ErrorBody {
  detail?: { code?: string; message?: string } | Array<{ msg?: string; loc?: unknown[] }> | string;
}
