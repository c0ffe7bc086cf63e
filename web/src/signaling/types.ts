// docs/signaling.md (protocol version 1) plus the additions of docs/web-client.md
// (`join.display_name`, `media-state` / `peer-media-state`) and of resumable participant
// sessions and drain (`join.resumable` / `join.resume`, the ack's `participant_id` /
// `resumed`, `peer-resumed`, `draining`, the connect error `draining`), and hands and
// reactions (`raise-hand`, `lower-hand`, `reaction`, `hands`, the ack's `hands`), and the
// host's moderation (`mute`, `ask-unmute`, `moderation`), and who records (`recording`, the
// ack's `recordings`).

import type { CallState, ChatMessage, DirectMessage } from "../api/types";

export const PROTOCOL_VERSION = 1;

export interface IceCandidatePayload {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
  usernameFragment?: string | null;
}

export interface PeerInfo {
  sid: string;
  user_id: string;
  display_name: string;
}

export interface MediaState {
  audio: boolean;
  video: boolean;
  screen: boolean;
}

/**
 * `join`. `resumable: true`: if the socket drops without `leave`, the server holds the
 * participant (no `peer-left`) for a while. `resume: P`: a new socket of the same user takes
 * over participant P of this meeting (an unknown or expired P is an ordinary fresh join).
 */
export interface JoinPayload {
  meeting_id: string;
  display_name?: string;
  resumable?: boolean;
  resume?: string | null;
}

/**
 * The `join` acknowledgement. `participant_id` is our identity in the room (what peers see as
 * `sid` and address as `to`); `resumed: true` means participant `resume` kept its identity and
 * peers saw no `peer-left` / `peer-joined` (they got `peer-resumed`). Both are absent from
 * servers without resumable sessions: then the id is the socket's `sid` and nothing resumed.
 */
export interface JoinAck {
  meeting_id: string;
  peers: PeerInfo[];
  replica_id: string;
  participant_id?: string;
  resumed?: boolean;
  /** The room's raised hands, in the order they were raised (absent from older servers). */
  hands?: RaisedHand[];
  /** Who records the meeting, in the order they started (absent from older servers). */
  recordings?: Recorder[];
  /** The participant id in the room's spotlight, null for none (absent from older servers). */
  spotlight?: string | null;
}

/** A participant recording the meeting (docs/signaling.md, "Recording"). */
export interface Recorder {
  sid: string;
  user_id: string;
  display_name: string;
  started_at: string;
}

/** A raised hand (docs/signaling.md, "Hands and reactions"). */
export interface RaisedHand {
  sid: string;
  user_id: string;
  raised_at: string;
}

/** The reactions the server accepts (`reaction` `emoji`). */
export const REACTIONS = ["👍", "👏", "😂", "❤️", "🎉", "😮"] as const;
export type Reaction = (typeof REACTIONS)[number];

/** Client → server events: payload and the `data` of a successful acknowledgement. */
export interface ClientEvents {
  join: { payload: JoinPayload; ack: JoinAck };
  leave: { payload: { meeting_id: string }; ack: Record<string, never> };
  offer: { payload: { meeting_id: string; to: string; sdp: string }; ack: Record<string, never> };
  answer: { payload: { meeting_id: string; to: string; sdp: string }; ack: Record<string, never> };
  "ice-candidate": { payload: { meeting_id: string; to: string; candidate: IceCandidatePayload | null }; ack: Record<string, never> };
  "media-state": { payload: { meeting_id: string } & MediaState; ack: Record<string, never> };
  "raise-hand": { payload: { meeting_id: string }; ack: Record<string, never> };
  /** `sid` absent: our own hand; another's: the host only. */
  "lower-hand": { payload: { meeting_id: string; sid?: string }; ack: Record<string, never> };
  reaction: { payload: { meeting_id: string; emoji: Reaction }; ack: Record<string, never> };
  recording: { payload: { meeting_id: string; active: boolean }; ack: Record<string, never> };
  /** The host only: mute participant `sid`, or everyone but the host (`sid` absent). */
  mute: { payload: { meeting_id: string; sid?: string }; ack: Record<string, never> };
  /** The host only: ask participant `sid` to turn their microphone on. */
  "ask-unmute": { payload: { meeting_id: string; sid: string }; ack: Record<string, never> };
  /** The host or a co-host only: spotlight participant `sid` for the room (null: nobody). */
  spotlight: { payload: { meeting_id: string; sid: string | null }; ack: Record<string, never> };
  /** This socket waits in the meeting's lobby: `lobby-decision` comes to it. */
  "lobby-wait": { payload: { meeting_id: string }; ack: Record<string, never> };
}

/** Server → client events. */
export interface ServerEvents {
  session: { protocol_version: number; sid: string; replica_id: string; user_id: string };
  "peer-joined": { meeting_id: string } & PeerInfo;
  "peer-left": { meeting_id: string; sid: string; user_id: string; reason: "left" | "disconnected" | "ended" | "moved" | "removed" };
  /** Another window or device of this user joined the meeting and took this socket's
   * participant over: this socket is out of the room (docs/signaling.md, "One participant per user"). */
  "participant-moved": { meeting_id: string };
  offer: { meeting_id: string; from: string; sdp: string };
  answer: { meeting_id: string; from: string; sdp: string };
  "ice-candidate": { meeting_id: string; from: string; candidate: IceCandidatePayload | null };
  "chat-message": ChatMessage;
  "meeting-ended": { meeting_id: string; ended_by: string | null; ended_at: string; reason?: "ended" | "cancelled" | "expired" };
  "peer-media-state": { meeting_id: string; sid: string } & MediaState;
  /** A participant took itself over on a new socket (same `sid`, the participant id). */
  "peer-resumed": { meeting_id: string } & PeerInfo;
  /** This socket's replica is shutting down: reconnect now (and `join` with `resume`). */
  draining: { replica_id: string };
  /** A hand was raised or lowered; `hands` is the room's list in order. */
  hands: { meeting_id: string; sid: string; raised: boolean; lowered_by: string | null; hands: RaisedHand[] };
  /** A participant (maybe us) started or stopped recording; `recordings` is everyone who records. */
  recording: { meeting_id: string; sid: string; active: boolean; recordings: Recorder[] };
  /** A participant (maybe us) sent a reaction. */
  reaction: { meeting_id: string; sid: string; user_id: string; emoji: string; at: string };
  /** The host (`by`) muted participant `sid` (`null`: everyone but the host) or asked it to unmute. */
  moderation: { meeting_id: string; action: "mute" | "ask-unmute"; sid: string | null; by: string; by_name: string; at: string };
  /** The host or a co-host (`by`) spotlighted participant `sid` (null: took it away). */
  spotlight: { meeting_id: string; sid: string | null; by: string };
  /** To the host and co-hosts: someone started waiting in the lobby, or stopped. */
  lobby: { meeting_id: string; action: "waiting" | "admitted" | "denied" | "left"; user_id: string; display_name: string; guest: boolean; by: string | null; at: string };
  /** To a waiting socket (`lobby-wait`): the host or a co-host decided. */
  "lobby-decision": { meeting_id: string; user_id: string; decision: "admitted" | "denied"; at: string };
  /** We were removed from the meeting (we are out of its room already). */
  removed: { meeting_id: string; user_id: string; by_name: string; at: string };
  /** The host made `user_id` a co-host, or a participant again. */
  "role-changed": { meeting_id: string; user_id: string; role: "cohost" | "participant" };
  /** The meeting's settings now. */
  "meeting-updated": { meeting_id: string; admission: "open" | "lobby" | "locked"; allow_guests: boolean };
  /** This socket's sign-in session was ended (another place chose "Use here", or signed out):
   * the server disconnects the socket next; the client must not reconnect. */
  "session-ended": { reason: "replaced" | "signed_out" | string };
  /** A contact's presence changed (docs/signaling.md, "Presence"). */
  presence: { user_id: string; state: "online" | "in_call" | "offline"; last_seen: string | null };
  /** A relationship of this user changed: read the contact list again. */
  "contacts-changed": {
    change: "invited" | "accepted" | "declined" | "removed" | "blocked" | "unblocked";
    contact_id: string;
    user_id: string;
    other_user_id: string;
  };
  /** A direct call of this user changed (docs/signaling.md, "Calls"). */
  call: {
    call_id: string;
    state: CallState;
    caller_id: string;
    caller_name: string;
    callee_id: string;
    room_id: string;
    at: string;
    ring_deadline: string | null;
  };
  /** A direct message to or from this user (docs/signaling.md, "Direct messages"). */
  "direct-message": DirectMessage;
  /** This user read the conversation with `peer_id` up to `read_seq` (maybe on another socket). */
  "direct-message-read": { conversation_id: string; user_id: string; peer_id: string; read_seq: number; at: string };
}

export type ClientEventName = keyof ClientEvents;
export type ServerEventName = keyof ServerEvents;

export type Ack<T> = { ok: true; data: T } | { ok: false; error: { code: string; message: string } };

export type SignalingErrorCode =
  | "invalid_payload"
  | "unauthorized"
  | "meeting_not_found"
  | "forbidden"
  | "meeting_ended"
  | "not_in_room"
  | "peer_not_in_room"
  | "rate_limited"
  | "unavailable"
  | "internal"
  | "timeout"
  | "disconnected"
  | "draining"
  | "removed_from_meeting"
  | "participant_moved";

export class SignalingError extends Error {
  constructor(
    readonly code: SignalingErrorCode | string,
    message: string,
  ) {
    super(message);
    this.name = "SignalingError";
  }
}

/** Connection status as the UI shows it (`data-testid="connection-status"`). */
export type ConnectionState = "connecting" | "connected" | "reconnecting" | "offline";
