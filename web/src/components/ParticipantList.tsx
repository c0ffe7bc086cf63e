import { Icon } from "./Icon";

export interface ParticipantEntry {
  key: string;
  name: string;
  self: boolean;
  host: boolean;
  audio: boolean | null;
  video: boolean | null;
  screen: boolean;
}

export function ParticipantList({ people, id = "participants-panel" }: { people: ParticipantEntry[]; id?: string }) {
  const headingId = `${id}-heading`;
  return (
    <section class="panel" id={id} aria-labelledby={headingId}>
      <h2 id={headingId} class="panel-title">
        Participants ({people.length})
      </h2>
      <ul class="participant-list" data-testid="participant-list">
        {people.map((p) => (
          <li key={p.key} class="participant">
            <span class="participant-name">
              {p.name}
              {p.self && " (you)"}
              {p.host && <span class="badge">Host</span>}
            </span>
            <span class="participant-state">
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
          </li>
        ))}
      </ul>
    </section>
  );
}
