import type { ComponentChild } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { featuredTile, gridColumns, screenKey, shareOrder } from "../room/layout";
import type { RemoteParticipant } from "../rtc/mesh";
import { VideoTile, type TileProps } from "./VideoTile";

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

type Tile = { key: string } & Omit<TileProps, "pinned" | "onPin">;

/** Every camera and screen share: ours first, then the others in the order they came. As a grid
 * (a last row that is not full is centred), or with one tile large on the stage and the others
 * in a strip beside it (below it on a phone): the tile this viewer pinned, else the camera of
 * the participant spotlighted for the room, else the latest shared screen (docs/web-client.md,
 * "Layouts"). */
export function VideoGrid({
  local,
  remotes,
  gestures = NO_GESTURES,
  sinkId = null,
  spotlight = null,
}: {
  local: LocalTile;
  remotes: RemoteParticipant[];
  gestures?: TileGestures;
  sinkId?: string | null;
  /** The participant id spotlighted for the room by the host or a co-host (null: none). */
  spotlight?: string | null;
}) {
  const [pinned, setPinned] = useState<string | null>(null);
  const shares = useRef<readonly string[]>([]);
  const grid = useRef<HTMLElement>(null);
  // a (un)pinned tile moves between the grid, the stage and the strip: its button keeps the focus
  const refocus = useRef<{ key: string; pinned: string | null } | null>(null);
  const hand = (sid: string) => {
    const place = sid ? gestures.hands.indexOf(sid) : -1;
    return place >= 0 ? place + 1 : undefined;
  };
  const reactions = (sid: string) => (sid ? gestures.reactions.filter((r) => r.sid === sid) : []);
  const speaking = (sid: string) => !!sid && (gestures.speaking ?? []).includes(sid);

  const tiles: Tile[] = [
    { key: local.sid, stream: local.stream, name: local.name, sid: local.sid, userId: local.userId, local: true, audioMuted: local.audioMuted, videoMuted: local.videoMuted, hand: hand(local.sid), reactions: reactions(local.sid), speaking: speaking(local.sid) },
  ];
  if (local.screen) tiles.push({ key: screenKey(local.sid), stream: local.screen, name: local.name, sid: local.sid, userId: local.userId, local: true, screen: true, audioMuted: false, videoMuted: false });
  for (const r of remotes) {
    tiles.push({
      key: r.sid,
      stream: r.camera,
      name: r.displayName,
      sid: r.sid,
      userId: r.userId,
      audioMuted: r.media ? !r.media.audio : r.connectionState === "connected" && r.audioSilent,
      videoMuted: r.media ? !r.media.video : r.videoSilent,
      status: connectionWords(r.connectionState),
      hand: hand(r.sid),
      reactions: reactions(r.sid),
      speaking: speaking(r.sid),
      sinkId,
    });
  }
  for (const r of remotes) {
    if (r.screen) tiles.push({ key: screenKey(r.sid), stream: r.screen, name: r.displayName, sid: r.sid, userId: r.userId, screen: true, audioMuted: false, videoMuted: false });
  }

  const keys = tiles.map((t) => t.key);
  shares.current = shareOrder(shares.current, tiles.filter((t) => t.screen).map((t) => t.key));
  const featured = featuredTile({ keys, pinned, spotlight, shares: shares.current });
  // a pin goes with its tile (a share that stops, a participant who leaves)
  const pinGone = pinned !== null && !keys.includes(pinned);
  useEffect(() => {
    if (pinGone) setPinned(null);
  }, [pinGone]);
  // in a layout effect, once the DOM holds the pin's layout: a render for something else that
  // came in between (a speaking ring, a media state) must not take the request, and a deferred
  // effect of an earlier render could run after the click but before the pin's render (the
  // button focused in its old place, which the pin then removed: a fresh run lost the focus so)
  useLayoutEffect(() => {
    const request = refocus.current;
    if (request === null || request.pinned !== pinned) return;
    refocus.current = null;
    const tile = tiles.find((t) => t.key === request.key);
    if (!tile) return;
    const selector = `[data-testid="tile"][data-sid="${CSS.escape(tile.sid)}"]${tile.screen ? '[data-screen="true"]' : ":not([data-screen])"} .tile-pin`;
    grid.current?.querySelector<HTMLElement>(selector)?.focus();
  });
  const pin = (key: string) => {
    const next = pinned === key ? null : key;
    refocus.current = { key, pinned: next };
    setPinned(next);
  };
  const render = ({ key, ...tile }: Tile): ComponentChild => (
    <VideoTile key={key} {...tile} featured={featured?.key === key} pinned={pinned === key} onPin={() => pin(key)} />
  );

  if (!featured) {
    const { wide, narrow } = gridColumns(tiles.length);
    return (
      <section ref={grid} class="video-grid" data-testid="video-grid" data-layout="grid" aria-label="Participants' video" style={{ "--columns": String(wide), "--columns-narrow": String(narrow) }}>
        {tiles.map(render)}
      </section>
    );
  }
  const strip = tiles.filter((t) => t.key !== featured.key);
  return (
    <section ref={grid} class="video-grid layout-stage" data-testid="video-grid" data-layout="stage" data-featured-reason={featured.reason} aria-label="Participants' video">
      <div class="stage-main">{tiles.filter((t) => t.key === featured.key).map(render)}</div>
      {strip.length > 0 && (
        <div class="stage-strip" data-testid="tile-strip">
          {strip.map(render)}
        </div>
      )}
    </section>
  );
}
