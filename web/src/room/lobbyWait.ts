import type { Api } from "../api";
import type { JoinResult } from "../api/types";
import { background } from "../lib/background";
import { Store } from "../lib/store";
import { SignalingClient } from "../signaling/client";

/** `waiting` until the host or a co-host decides: `admitted` (with the join's result) or
 * `denied`; `withdrawn` when another tab or window of ours stopped waiting. */
export type LobbyWaitState =
  | { phase: "waiting" }
  | { phase: "admitted"; joined: JoinResult }
  | { phase: "denied" }
  | { phase: "withdrawn" }
  | { phase: "failed"; error: string };

/**
 * Waiting in a meeting's lobby (docs/web-client.md, "Lobby"): a signaling socket of its own
 * tells signaling it waits (`lobby-wait`), so that `lobby-decision` reaches it on whichever
 * replica; right after that, `GET /join` tells where we stand, in case the decision came before
 * the socket listened. Admitted, it answers the meeting and our role. It is a read, not
 * `POST /join`: a knock still in flight when the page closes would put us back in the lobby
 * after `DELETE /join` took us out.
 */
export class LobbyWait {
  readonly state = new Store<LobbyWaitState>({ phase: "waiting" });
  private readonly signaling: SignalingClient;
  private closed = false;

  constructor(
    private readonly api: Api,
    private readonly meetingId: string,
  ) {
    this.signaling = new SignalingClient({
      getToken: () => api.http.accessToken(),
      refreshToken: () => api.http.refresh(),
    });
    this.signaling.onSession(() => background(this.listen(), "lobby-wait"));
    this.signaling.on("lobby-decision", (p) => {
      if (p.meeting_id !== this.meetingId) return;
      if (p.decision === "denied") this.finish({ phase: "denied" });
      else background(this.check(), "lobby-admitted");
    });
  }

  start(): void {
    this.signaling.connect();
    addEventListener("pagehide", this.leaving);
  }

  /** Stops waiting (`DELETE /join`, a request that outlives the page with `keepalive`) and
   * closes the socket. */
  async cancel(keepalive = false): Promise<void> {
    this.close();
    await this.api.meetings.withdraw(this.meetingId, keepalive).catch(() => undefined);
  }

  close(): void {
    this.closed = true;
    removeEventListener("pagehide", this.leaving);
    this.signaling.close();
  }

  /** The page closes or navigates away while waiting: leave the lobby, so that the host's
   * list does not keep someone who is gone (a request that outlives the page). */
  private readonly leaving = (): void => {
    if (!this.closed) void this.cancel(true);
  };

  private async listen(): Promise<void> {
    await this.signaling.request("lobby-wait", { meeting_id: this.meetingId });
    await this.check();
  }

  /** Asks meetings where we stand: joined (admitted), still waiting, refused, or gone from
   * the lobby (another tab of ours withdrew). */
  private async check(): Promise<void> {
    if (this.closed) return;
    try {
      const joined = await this.api.meetings.standing(this.meetingId);
      if (joined.status !== "waiting") this.finish({ phase: "admitted", joined });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "lobby_denied") this.finish({ phase: "denied" });
      else if (code === "not_in_lobby") this.finish({ phase: "withdrawn" });
      else this.finish({ phase: "failed", error: "The meeting could not be joined." });
    }
  }

  private finish(state: LobbyWaitState): void {
    if (this.closed) return;
    this.close();
    this.state.set(state);
  }
}
