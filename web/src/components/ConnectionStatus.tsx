import type { ConnectionState } from "../signaling/types";

/** Contract values of `data-state`: connected, reconnecting or offline. */
export function connectionDataState(state: ConnectionState): "connected" | "reconnecting" | "offline" {
  return state === "connected" ? "connected" : state === "offline" ? "offline" : "reconnecting";
}

export function connectionWords(state: ConnectionState, wasConnected: boolean): string {
  switch (state) {
    case "connected":
      return "Connected";
    case "offline":
      return "Offline";
    default:
      return wasConnected ? "Reconnecting…" : "Connecting…";
  }
}

/** The signaling connection in words (`data-testid="connection-status"`). */
export function ConnectionStatus({ state, wasConnected }: { state: ConnectionState; wasConnected: boolean }) {
  const dataState = connectionDataState(state);
  return (
    <span class={`connection connection-${dataState}`} data-testid="connection-status" data-state={dataState}>
      <span class="connection-dot" aria-hidden="true" />
      <span class="connection-words">{connectionWords(state, wasConnected)}</span>
    </span>
  );
}
