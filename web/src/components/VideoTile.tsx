import { useEffect, useRef, useState } from "preact/hooks";
import { initials } from "../lib/initials";
import { Icon } from "./Icon";

export interface TileProps {
  stream: MediaStream | null;
  name: string;
  sid: string;
  userId: string;
  local?: boolean;
  screen?: boolean;
  audioMuted: boolean;
  videoMuted: boolean;
  /** Connection words for remote tiles ("Connecting…"), empty when fine. */
  status?: string;
  /** The participant's place among the raised hands (1 = first), absent when not raised. */
  hand?: number;
  /** Reactions shown over the tile right now (the latest last). */
  reactions?: { id: number; emoji: string }[];
  /** Speaking now: the tile is outlined. */
  speaking?: boolean;
  /** The audio output to play on (null: the default). */
  sinkId?: string | null;
  /** Shown large on the stage (pinned, spotlighted or a presentation). */
  featured?: boolean;
  /** This viewer pinned the tile: its button reads "Unpin …". */
  pinned?: boolean;
  /** Pins the tile, or unpins it (absent: no pin button). */
  onPin?: () => void;
}

/** Plays a stream in a <video>; falls back to muted playback (and offers sound) if autoplay is refused. */
export function useVideoStream(stream: MediaStream | null, muted: boolean, sinkId: string | null = null) {
  const ref = useRef<HTMLVideoElement>(null);
  const [needsSound, setNeedsSound] = useState(false);
  useEffect(() => {
    // the chosen speaker (where the browser can choose one); "" is the default output
    const video = ref.current as (HTMLVideoElement & { setSinkId?: (id: string) => Promise<void> }) | null;
    if (muted || !video?.setSinkId) return;
    void video.setSinkId(sinkId ?? "").catch(() => undefined);
  }, [sinkId, muted]);
  useEffect(() => {
    const video = ref.current;
    if (!video) return;
    if (video.srcObject !== stream) video.srcObject = stream;
    video.muted = muted;
    if (!stream) return;
    video.play().catch((err: DOMException) => {
      if (err.name === "NotAllowedError" && !muted) {
        video.muted = true;
        setNeedsSound(true);
        void video.play().catch(() => undefined);
      }
    });
  }, [stream, muted]);
  const enableSound = () => {
    const video = ref.current;
    if (!video) return;
    video.muted = false;
    void video.play().then(() => setNeedsSound(false)).catch(() => undefined);
  };
  return { ref, needsSound, enableSound };
}

/** One participant (or one screen share) in the video grid. */
export function VideoTile({ stream, name, sid, userId, local = false, screen = false, audioMuted, videoMuted, status, hand, reactions = [], speaking = false, sinkId = null, featured = false, pinned = false, onPin }: TileProps) {
  // Our own tile never plays our own microphone back.
  const { ref, needsSound, enableSound } = useVideoStream(stream, local || screen, sinkId);
  const hasVideo = !!stream && stream.getVideoTracks().length > 0;
  const showVideo = hasVideo && !videoMuted;
  const label = screen ? `${name} (screen)` : local ? `${name} (you)` : name;
  return (
    <figure
      class={`tile${screen ? " tile-screen" : ""}${local ? " tile-local" : ""}${speaking ? " tile-speaking" : ""}${featured ? " tile-featured" : ""}${pinned ? " tile-pinned" : ""}`}
      data-testid="tile"
      data-sid={sid}
      data-user-id={userId}
      data-local={local ? "true" : undefined}
      data-screen={screen ? "true" : undefined}
      data-audio-muted={audioMuted ? "true" : "false"}
      data-video-muted={videoMuted ? "true" : "false"}
      data-hand={hand ?? undefined}
      data-speaking={screen ? undefined : speaking ? "true" : "false"}
      data-featured={featured ? "true" : undefined}
      data-pinned={pinned ? "true" : undefined}
    >
      <video ref={ref} autoplay playsInline class={`${local && !screen ? "mirror" : ""}${showVideo ? "" : " hidden-video"}`} aria-label={`Video of ${label}`} />
      {!showVideo && (
        <div class="tile-avatar" aria-hidden="true">
          <span>{initials(name)}</span>
        </div>
      )}
      {hand !== undefined && (
        <span class="tile-hand" data-testid="tile-hand" title={`Hand raised (${ordinal(hand)})`}>
          <Icon name="hand" size={14} /> {hand}
          <span class="visually-hidden"> hand raised, {ordinal(hand)}</span>
        </span>
      )}
      {reactions.length > 0 && (
        <div class="tile-reactions" data-testid="tile-reactions" aria-live="polite">
          {reactions.map((r) => (
            <span key={r.id} class="tile-reaction" data-testid="tile-reaction" role="img" aria-label={`${name} reacted ${r.emoji}`}>
              {r.emoji}
            </span>
          ))}
        </div>
      )}
      <figcaption class="tile-caption">
        <span class="tile-name">{label}</span>
        {!screen && audioMuted && (
          <span class="tile-muted" title="Microphone off">
            <Icon name="micOff" size={16} />
            <span class="visually-hidden">microphone off</span>
          </span>
        )}
        {!screen && videoMuted && <span class="visually-hidden">camera off</span>}
        {status && <span class="tile-status">{status}</span>}
      </figcaption>
      {onPin && (
        <button type="button" class="tile-pin" onClick={onPin} title={pinned ? "Unpin: back to the shared layout" : "Pin: show large for you only"}>
          <Icon name={pinned ? "unpin" : "pin"} size={18} />
          <span class="visually-hidden">
            {pinned ? "Unpin" : "Pin"} {label}
          </span>
        </button>
      )}
      {needsSound && (
        <button type="button" class="tile-sound button-secondary" onClick={enableSound}>
          Turn on sound for {name}
        </button>
      )}
    </figure>
  );
}

/** 1 → "1st", 2 → "2nd", … (English ordinals, for the hand badge's accessible words). */
export function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : ({ 1: "st", 2: "nd", 3: "rd" } as Record<number, string>)[n % 10] ?? "th";
  return `${n}${suffix}`;
}
