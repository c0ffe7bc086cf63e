// docs/signaling.md (protocol version 1) plus the additions of docs/web-client.md
// (`join.display_name`, `media-state` / `peer-media-state`).

import type { ChatMessage } from "../api/types";

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

/** Client → server events: payload and the `data` of a successful acknowledgement. */
export interface ClientEvents {
  join: { payload: { meeting_id: string; display_name?: string }; ack: { meeting_id: string; peers: PeerInfo[]; replica_id: string } };
  leave: { payload: { meeting_id: string }; ack: Record<string, never> };
  offer: { payload: { meeting_id: string; to: string; sdp: string }; ack: Record<string, never> };
  answer: { payload: { meeting_id: string; to: string; sdp: string }; ack: Record<string, never> };
  "ice-candidate": { payload: { meeting_id: string; to: string; candidate: IceCandidatePayload | null }; ack: Record<string, never> };
  "media-state": { payload: { meeting_id: string } & MediaState; ack: Record<string, never> };
}

/** Server → client events. */
export interface ServerEvents {
  session: { protocol_version: number; sid: string; replica_id: string; user_id: string };
  "peer-joined": { meeting_id: string } & PeerInfo;
  "peer-left": { meeting_id: string; sid: string; user_id: string; reason: "left" | "disconnected" | "ended" };
  offer: { meeting_id: string; from: string; sdp: string };
  answer: { meeting_id: string; from: string; sdp: string };
  "ice-candidate": { meeting_id: string; from: string; candidate: IceCandidatePayload | null };
  "chat-message": ChatMessage;
  "meeting-ended": { meeting_id: string; ended_by: string; ended_at: string };
  "peer-media-state": { meeting_id: string; sid: string } & MediaState;
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
  | "disconnected";

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
