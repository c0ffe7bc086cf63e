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
  /** A scheduled meeting's length and IANA time zone; null when it is not scheduled. */
  duration_minutes: number | null;
  time_zone: string | null;
  /** When participants may join a scheduled meeting (its host may join at any time). */
  opens_at: string | null;
  status: MeetingStatus;
  end_reason: "ended" | "cancelled" | "expired" | null;
  created_at: string;
  ended_at: string | null;
  invite_url: string;
  /** The direct call whose private room this meeting is (null: an ordinary meeting). */
  call_id?: string | null;
  /** Whether someone without an account may join with a guest token (docs/http-api.md, "Guests"). */
  allow_guests?: boolean;
  /** Who joins without waiting (docs/http-api.md, "Lobby and moderation"); absent: `open`. */
  admission?: Admission;
  /** The participants the host made co-hosts. */
  cohost_ids?: string[];
}

/** `open`: anyone with the link joins; `lobby`: newcomers wait to be admitted; `locked`: nobody new joins. */
export type Admission = "open" | "lobby" | "locked";

/** Someone waiting in the lobby (`GET /api/meetings/{id}/lobby`). */
export interface WaitingPerson {
  user_id: string;
  display_name: string;
  guest: boolean;
  requested_at: string;
}

/** `GET /api/meetings/{id}/roster`: who is in the call now (one entry per socket). */
export interface Roster {
  meeting_id: string;
  participants: { user_id: string; display_name: string; sid: string; joined_at: string }[];
}

/** `GET /api/meetings/calendar-feed`: whether the caller has a calendar feed, and since when. */
export interface CalendarFeedState {
  active: boolean;
  created_at: string | null;
}

/** `GET /api/meetings/{id}/public`: what anyone holding the link may read without signing in. */
export interface PublicMeeting {
  meeting_id: string;
  title: string;
  status: MeetingStatus;
  allow_guests: boolean;
  admission?: Admission;
  /** A scheduled meeting's start, length, zone and opening (all null when not scheduled). */
  scheduled_start?: string | null;
  duration_minutes?: number | null;
  time_zone?: string | null;
  opens_at?: string | null;
}

/** `POST /api/auth/guests`: a guest token for one meeting (no refresh token). */
export interface GuestToken {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  guest: { user_id: string; display_name: string; meeting_id: string };
}

/** When a meeting takes place, as `POST /api/meetings` and `PUT …/schedule` take it. */
export interface ScheduleInput {
  scheduled_start: string;
  duration_minutes?: number;
  time_zone?: string;
}

export type Role = "host" | "cohost" | "participant";

export interface JoinResult {
  meeting: Meeting;
  role: Role;
  /** `waiting`: in the lobby until the host or a co-host admits us (HTTP 202). Absent: joined. */
  status?: "joined" | "waiting";
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

/** A direct message (docs/http-api.md, "Direct messages"). */
export interface DirectMessage {
  conversation_id: string;
  message_id: string;
  sender_id: string;
  sender_name: string;
  recipient_id: string;
  text: string;
  posted_at: string;
  /** Position in the conversation (1, 2, 3, …); absent only on our own unconfirmed copy. */
  seq?: number;
}

export interface DirectHistoryPage {
  messages: DirectMessage[];
  next_cursor: string | null;
}

/** One of the user's conversations: the newest message and the peer's messages unread. */
export interface Conversation {
  conversation_id: string;
  peer_id: string;
  last_message: DirectMessage | null;
  read_seq: number;
  unread: number;
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

// Contacts (docs/http-api.md, "Contacts")

export type PresenceState = "online" | "in_call" | "offline";

export interface Presence {
  state: PresenceState;
  /** When the user was last online (ISO 8601), null: never. */
  last_seen: string | null;
}

export interface Contact {
  contact_id: string;
  user: User;
  relation: "accepted" | "incoming" | "outgoing";
  since: string;
  presence: Presence | null;
}

export interface ContactList {
  contacts: Contact[];
  incoming: Contact[];
  outgoing: Contact[];
  blocked: User[];
}

/** A direct call's state (docs/http-api.md, "Calls"). */
export type CallState = "ringing" | "accepted" | "declined" | "missed" | "cancelled" | "ended" | "escalated";

export interface Call {
  call_id: string;
  direction: "outgoing" | "incoming";
  state: CallState;
  caller_id: string;
  caller_name: string;
  callee_id: string;
  callee_name: string | null;
  room_id: string;
  created_at: string;
  ring_deadline: string;
  answered_at: string | null;
  ended_at: string | null;
  ended_by: string | null;
}

export interface CallList {
  live: Call[];
  history: Call[];
}

/** A scope of an API key (docs/http-api.md, "API keys"). */
export type ApiKeyScope = "meetings:read" | "meetings:write" | "webhooks:manage";

/** An API key as its owner sees it; `shown` is the secret's first characters. */
export interface ApiKey {
  key_id: string;
  name: string;
  scopes: ApiKeyScope[];
  shown: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** A key just created, with its secret (shown this once). */
export interface CreatedApiKey extends ApiKey {
  secret: string;
}

export interface ApiKeyList {
  keys: ApiKey[];
}

/** A webhook event type (docs/webhooks.md). */
export type WebhookEventType =
  | "meeting.created"
  | "meeting.started"
  | "meeting.ended"
  | "meeting.expired"
  | "participant.joined"
  | "participant.left"
  | "chat.message.posted";

/** A webhook endpoint of the signed-in user (docs/http-api.md, "Webhooks"). */
export interface WebhookEndpoint {
  endpoint_id: string;
  url: string;
  event_types: WebhookEventType[];
  description: string;
  enabled: boolean;
  created_at: string;
}

/** An endpoint just registered, with its signing secret (shown this once). */
export interface CreatedWebhookEndpoint extends WebhookEndpoint {
  secret: string;
}

export interface WebhookEndpointList {
  endpoints: WebhookEndpoint[];
}

/** One entry of an endpoint's delivery log. */
export interface WebhookDelivery {
  delivery_id: string;
  event_type: WebhookEventType;
  meeting_id: string;
  payload: string;
  state: "pending" | "delivering" | "succeeded" | "failed";
  attempts: number;
  next_attempt_at: string | null;
  created_at: string;
  last_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  succeeded_at: string | null;
}

export interface WebhookDeliveryPage {
  deliveries: WebhookDelivery[];
  next_cursor: string | null;
}
