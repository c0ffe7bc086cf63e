import type { ComponentChildren } from "preact";
import { Icon } from "./Icon";

export interface ParticipantEntry {
  key: string;
  name: string;
  self: boolean;
  host: boolean;
  audio: boolean | null;
  video: boolean | null;
  screen: boolean;
  /** Place among the raised hands (1 = first), absent when not raised. */
  hand?: number;
  /** Lowers this participant's hand (ours, or anyone's for the host); absent: no button. */
  lowerHand?: () => void;
  /** The host's: mute this participant (their microphone is on), or ask them to unmute (it is off). */
  mute?: () => void;
  askUnmute?: () => void;
  /** A co-host (the host made them one). */
  cohost?: boolean;
  /** The host's: make this participant a co-host, or a participant again. */
  setCohost?: (cohost: boolean) => void;
  /** In the room's spotlight (shown large for everyone). */
  spotlighted?: boolean;
  /** The host's and co-hosts': spotlight this participant for the room, or take it away. */
  setSpotlight?: (on: boolean) => void;
  /** The host's and co-hosts': remove this participant (after a confirmation). */
  remove?: () => void;
}

/** The people in the call; those with a raised hand first, in the order they raised it. */
export function ParticipantList({
  people,
  id = "participants-panel",
  muteAll,
  children,
}: {
  people: ParticipantEntry[];
  id?: string;
  muteAll?: () => void;
  /** Shown under the title: the host's room settings and lobby. */
  children?: ComponentChildren;
}) {
  const headingId = `${id}-heading`;
  const raised = people.filter((p) => p.hand !== undefined).sort((a, b) => (a.hand ?? 0) - (b.hand ?? 0));
  const ordered = [...raised, ...people.filter((p) => p.hand === undefined)];
  return (
    <section class="panel" id={id} aria-labelledby={headingId}>
      <h2 id={headingId} class="panel-title">
        Participants ({people.length})
      </h2>
      {children}
      {muteAll && (
        <button type="button" class="button-small button-secondary participant-mute-all" onClick={muteAll}>
          Mute everyone
        </button>
      )}
      <ul class="participant-list" data-testid="participant-list">
        {ordered.map((p) => (
          <li key={p.key} class="participant" data-hand={p.hand ?? undefined}>
            <span class="participant-name">
              {p.hand !== undefined && (
                <span class="participant-hand" data-testid="participant-hand" title="Hand raised">
                  <Icon name="hand" size={14} />
                  {p.hand}
                  <span class="visually-hidden">: hand raised, {p.hand} in order,</span>
                </span>
              )}
              {p.name}
              {p.self && " (you)"}
              {p.host && <span class="badge">Host</span>}
              {p.cohost && <span class="badge">Co-host</span>}
              {p.spotlighted && <span class="badge">Spotlight</span>}
              {/* the media states beside the name, not after the host's buttons */}
              <span class="participant-media">
                {p.screen && (
                  <span title="Sharing the screen">
                    <Icon name="screen" size={16} />
                    <span class="visually-hidden">sharing the screen</span>
                  </span>
                )}
                {p.audio === false && (
                  <span title="Microphone off">
                    <Icon name="micOff" size={16} />
                    <span class="visually-hidden">microphone off</span>
                  </span>
                )}
                {p.video === false && (
                  <span title="Camera off">
                    <Icon name="camOff" size={16} />
                    <span class="visually-hidden">camera off</span>
                  </span>
                )}
              </span>
            </span>
            <span class="participant-state">
              {p.lowerHand && (
                <button type="button" class="button-small button-secondary" onClick={p.lowerHand}>
                  Lower hand<span class="visually-hidden"> of {p.self ? "yours" : p.name}</span>
                </button>
              )}
              {p.mute && (
                <button type="button" class="button-small button-secondary" onClick={p.mute}>
                  Mute<span class="visually-hidden"> {p.name}</span>
                </button>
              )}
              {p.askUnmute && (
                <button type="button" class="button-small button-secondary" onClick={p.askUnmute}>
                  Ask to unmute<span class="visually-hidden"> {p.name}</span>
                </button>
              )}
              {p.setCohost && (
                <button type="button" class="button-small button-secondary" onClick={() => p.setCohost?.(!p.cohost)}>
                  {p.cohost ? "Remove co-host" : "Make co-host"}
                  <span class="visually-hidden"> {p.name}</span>
                </button>
              )}
              {p.setSpotlight && (
                <button type="button" class="button-small button-secondary" onClick={() => p.setSpotlight?.(!p.spotlighted)}>
                  {p.spotlighted ? "Remove spotlight" : "Spotlight"}
                  <span class="visually-hidden"> {p.self ? "yourself" : p.name}</span>
                </button>
              )}
              {p.remove && (
                <button type="button" class="button-small button-secondary button-danger" aria-haspopup="dialog" onClick={p.remove}>
                  Remove<span class="visually-hidden"> {p.name}</span>
                </button>
              )}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
