import type { RoomSession, RoomState } from "../room/session";
import type { PeerStats } from "../rtc/mesh";

declare global {
  interface Window {
    /**
     * Debugging handle of the room on screen (the only global the client sets; see
     * web/README.md). Absent outside a meeting room.
     */
    parleyDebug?: {
      room: RoomSession;
      /** Drops the signaling transport as a network failure would; the client reconnects. */
      dropConnection(): void;
      state(): RoomState;
      /** Per remote participant id: connection state, video frames decoded, bytes received and inter-frame delay sums so far, labels of the tracks sent. */
      stats(): Promise<Record<string, PeerStats>>;
    };
  }
}

export {};
