import type { HttpClient } from "./http";
import type { GuestToken, TokenPair, User } from "./types";

export interface Registration {
  email: string;
  display_name: string;
  password: string;
}

export function authApi(http: HttpClient) {
  return {
    register: (body: Registration) => http.post<User>("/api/auth/register", body, { auth: false }),

    /** `takeover` ends the user's other live session (409 `active_session` without it). */
    async login(email: string, password: string, takeover = false): Promise<TokenPair> {
      const body = takeover ? { email, password, takeover } : { email, password };
      const pair = await http.post<TokenPair>("/api/auth/login", body, { auth: false });
      http.tokens.save(pair);
      return pair;
    },

    /** Revokes the session (auth reads the refresh cookie and clears it; best effort) and
     * forgets the access token, after any refresh in flight has landed (see `settled`). */
    async logout(): Promise<void> {
      await http.settled();
      const signedIn = http.tokens.hasSession;
      const legacy = http.tokens.takeLegacyRefreshToken();
      http.tokens.clear();
      if (signedIn) {
        const body = legacy ? { refresh_token: legacy } : {};
        await http.post<void>("/api/auth/logout", body, { auth: false }).catch(() => undefined);
      }
    },

    me: () => http.get<User>("/api/auth/me"),

    /** A guest token for one meeting that allows guests; kept as the access token. */
    async guest(meetingId: string, displayName: string): Promise<GuestToken> {
      const token = await http.post<GuestToken>("/api/auth/guests", { meeting_id: meetingId, display_name: displayName }, { auth: false });
      http.tokens.saveGuest(token.access_token, token.expires_in);
      return token;
    },
  };
}
