import type { RemoteParticipant } from "../rtc/mesh";
import { VideoTile } from "./VideoTile";

export interface LocalTile {
  sid: string;
  userId: string;
  name: string;
  stream: MediaStream | null;
  screen: MediaStream | null;
  audioMuted: boolean;
  videoMuted: boolean;
}

function connectionWords(state: RemoteParticipant["connectionState"]): string {
  switch (state) {
    case "waiting":
    case "new":
    case "connecting":
      return "Connecting…";
    case "disconnected":
      return "Reconnecting…";
    case "failed":
      return "Connection failed";
    default:
      return "";
  }
}

/** Gestures shown on the camera tiles: raised hands (participant ids, in order) and reactions. */
export interface TileGestures {
  hands: string[];
  reactions: { id: number; sid: string; emoji: string }[];
  /** Participant ids speaking now (their camera tile is outlined). */
  speaking?: string[];
}

const NO_GESTURES: TileGestures = { hands: [], reactions: [] };

/** Every camera and screen share: ours first, then the others in the order they came. */
export function VideoGrid({ local, remotes, gestures = NO_GESTURES, sinkId = null }: { local: LocalTile; remotes: RemoteParticipant[]; gestures?: TileGestures; sinkId?: string | null }) {
  const hand = (sid: string) => {
    const place = sid ? gestures.hands.indexOf(sid) : -1;
    return place >= 0 ? place + 1 : undefined;
  };
  const reactions = (sid: string) => (sid ? gestures.reactions.filter((r) => r.sid === sid) : []);
  const speaking = (sid: string) => !!sid && (gestures.speaking ?? []).includes(sid);
  const count = 1 + remotes.length + (local.screen ? 1 : 0) + remotes.filter((r) => r.screen).length;
  const columns = count <= 1 ? 1 : count <= 4 ? 2 : 3;
  return (
    <section class="video-grid" data-testid="video-grid" aria-label="Participants' video" style={{ "--columns": String(columns), "--columns-narrow": String(count <= 3 ? 1 : 2) }}>
      <VideoTile stream={local.stream} name={local.name} sid={local.sid} userId={local.userId} local audioMuted={local.audioMuted} videoMuted={local.videoMuted} hand={hand(local.sid)} reactions={reactions(local.sid)} speaking={speaking(local.sid)} />
      {local.screen && <VideoTile stream={local.screen} name={local.name} sid={local.sid} userId={local.userId} local screen audioMuted={false} videoMuted={false} />}
      {remotes.map((r) => (
        <VideoTile
          key={r.sid}
          stream={r.camera}
          name={r.displayName}
          sid={r.sid}
          userId={r.userId}
          audioMuted={r.media ? !r.media.audio : r.connectionState === "connected" && r.audioSilent}
          videoMuted={r.media ? !r.media.video : r.videoSilent}
          status={connectionWords(r.connectionState)}
          hand={hand(r.sid)}
          reactions={reactions(r.sid)}
          speaking={speaking(r.sid)}
          sinkId={sinkId}
        />
      ))}
      {remotes
        .filter((r) => r.screen)
        .map((r) => (
          <VideoTile key={`${r.sid}-screen`} stream={r.screen} name={r.displayName} sid={r.sid} userId={r.userId} screen audioMuted={false} videoMuted={false} />
        ))}
    </section>
  );
}
