import type { WaitingPerson } from "../api/types";

/** Who waits in the lobby, for the host and co-hosts: Admit / Deny each, Admit all. */
export function LobbyPanel({ waiting, admit, deny }: { waiting: WaitingPerson[]; admit: (userId: string | null) => void; deny: (userId: string) => void }) {
  return (
    <section class="lobby-panel" aria-labelledby="lobby-heading" data-testid="lobby-list">
      <h3 id="lobby-heading" class="panel-subtitle">
        Waiting in the lobby ({waiting.length})
      </h3>
      {waiting.length === 0 ? (
        <p class="panel-note">Nobody is waiting.</p>
      ) : (
        <>
          {waiting.length > 1 && (
            <button type="button" class="button-small button-primary" onClick={() => admit(null)}>
              Admit all
            </button>
          )}
          <ul class="participant-list">
            {waiting.map((w) => (
              <li key={w.user_id} class="participant" data-testid="lobby-person">
                <span class="participant-name">
                  {w.display_name}
                  {w.guest && <span class="badge">Guest</span>}
                </span>
                <span class="participant-state">
                  <button type="button" class="button-small button-primary" onClick={() => admit(w.user_id)}>
                    Admit<span class="visually-hidden"> {w.display_name}</span>
                  </button>
                  <button type="button" class="button-small button-secondary" onClick={() => deny(w.user_id)}>
                    Deny<span class="visually-hidden"> {w.display_name}</span>
                  </button>
                </span>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
