import { type Api, ApiError, TokenStore, createApi } from "../api";
import { browserLock } from "../api/http";
import { SESSION_HINT_KEY } from "../api/tokens";
import type { GuestToken, User } from "../api/types";
import type { GuestPass } from "../room/rejoin";
import { Store } from "../lib/store";

/** `guest`: no account; a guest token for one meeting (`guestOf`), from `joinAsGuest`. */
export type AuthStatus = "restoring" | "signed-in" | "signed-out" | "guest";

/** Guest ids (`guest-…`, docs/http-api.md "Guests") never collide with users' (hex). */
export function isGuest(user: User | null | undefined): boolean {
  return !!user && user.user_id.startsWith("guest-");
}

export interface SessionState {
  status: AuthStatus;
  user: User | null;
  /** Why the user was signed out, in words (e.g. the session expired). */
  notice: string | null;
  /** The session could not be restored because the server was unreachable. */
  unreachable: boolean;
  /** Why the session was ended from elsewhere (signaling's `session-ended`: `replaced` when
   * the user chose "Use here" in another place); the app shows it instead of any page. */
  ended: string | null;
  /** The meeting a guest may use (status `guest`), else null. */
  guestOf: string | null;
}

function localStorageOrNull(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/** Who is signed in, and the API client that carries their tokens. */
export class Session {
  readonly state = new Store<SessionState>({
    status: "restoring",
    user: null,
    notice: null,
    unreachable: false,
    ended: null,
    guestOf: null,
  });
  readonly api: Api;

  constructor() {
    const tokens = new TokenStore(localStorageOrNull());
    this.api = createApi({
      tokens,
      lock: browserLock(),
      onSessionLost: () => this.lost("Your session has ended. Please sign in again."),
    });
    this.api.http.onRefreshed = (pair) => this.state.set({ status: "signed-in", user: pair.user, unreachable: false });
    // Signing out in another tab signs out here too.
    window.addEventListener("storage", (event) => {
      if (event.key === SESSION_HINT_KEY && event.newValue === null && this.state.get().status === "signed-in") {
        this.api.http.tokens.clear();
        this.state.set({ status: "signed-out", user: null, notice: "You signed out in another window." });
      }
    });
  }

  get user(): User | null {
    return this.state.get().user;
  }

  /** At start-up: the refresh cookie becomes a session without asking for the password. */
  async restore(): Promise<void> {
    if (!this.api.http.tokens.hasSession) {
      this.state.set({ status: "signed-out", user: null });
      return;
    }
    this.state.set({ status: "restoring", unreachable: false });
    try {
      await this.api.http.refresh();
    } catch (err) {
      if (err instanceof ApiError) this.state.set({ status: "signed-out", user: null, notice: null });
      else this.state.set({ unreachable: true });
    }
  }

  /** Signs in; `takeover` ends the user's other live session ("Use here"). Rejects with the
   * ApiError `active_session` (409) while another session is live and `takeover` is false. */
  async signIn(email: string, password: string, takeover = false): Promise<void> {
    const pair = await this.api.auth.login(email, password, takeover);
    this.state.set({ status: "signed-in", user: pair.user, notice: null, ended: null, guestOf: null });
  }

  /** The session was ended from elsewhere: forget the tokens (they are refused everywhere
   * now) and show why, not the sign-in page's "Please sign in". The `session-ended` of this
   * page's own sign-out (it reaches the user socket before or after the logout's answer) is
   * not news: the page goes to the sign-in page as it would without it. */
  ended(reason: string): void {
    if (this.signingOut || this.state.get().status === "signed-out") return;
    this.api.http.tokens.clear();
    this.state.set({ status: "signed-out", user: null, notice: null, ended: reason });
  }

  /** Leaves the "session ended" page (to sign in again). */
  dismissEnded(): void {
    this.state.set({ ended: null });
  }

  /** Joins as a guest of `meetingId` with `displayName` (the meeting must allow guests):
   * the new guest token; rejects with the ApiError of `POST /api/auth/guests` (403
   * `guests_not_allowed`, 429, …). */
  async joinAsGuest(meetingId: string, displayName: string): Promise<GuestToken> {
    const token = await this.api.auth.guest(meetingId, displayName);
    this.becomeGuest(meetingId, token.guest.user_id, token.guest.display_name);
    return token;
  }

  /** Is the guest of `meetingId` that `pass` holds again (after a reload, room/rejoin.ts). */
  resumeGuest(meetingId: string, pass: GuestPass): void {
    this.api.http.tokens.saveGuest(pass.accessToken, (pass.expiresAt - Date.now()) / 1000);
    this.becomeGuest(meetingId, pass.userId, pass.displayName);
  }

  private becomeGuest(meetingId: string, userId: string, displayName: string): void {
    const user = { user_id: userId, email: "", display_name: displayName };
    this.state.set({ status: "guest", user, notice: null, ended: null, guestOf: meetingId });
  }

  async signUp(email: string, displayName: string, password: string): Promise<void> {
    await this.api.auth.register({ email, display_name: displayName, password });
    await this.signIn(email, password);
  }

  /** Signs out: the page stays until auth revoked the session and cleared the cookie. */
  async signOut(): Promise<void> {
    // Meanwhile the tokens are gone, so a call that needs one finds the session lost: that
    // must not leave for the sign-in page (with "Your session has ended") before the logout
    // request, whose answer clears the cookie, is through.
    this.signingOut = true;
    try {
      await this.api.auth.logout();
    } finally {
      this.signingOut = false;
    }
    this.state.set({ status: "signed-out", user: null, notice: null });
  }

  private signingOut = false;

  private lost(notice: string): void {
    if (this.signingOut || this.state.get().status === "signed-out") return;
    this.state.set({ status: "signed-out", user: null, notice, guestOf: null });
  }
}
