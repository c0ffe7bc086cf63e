import type { HttpClient } from "./http";
import type { TokenPair, User } from "./types";

export interface Registration {
  email: string;
  display_name: string;
  password: string;
}

export function authApi(http: HttpClient) {
  return {
    register: (body: Registration) => http.post<User>("/api/auth/register", body, { auth: false }),

    async login(email: string, password: string): Promise<TokenPair> {
      const pair = await http.post<TokenPair>("/api/auth/login", { email, password }, { auth: false });
      http.tokens.save(pair);
      return pair;
    },

    /** Revokes the refresh token (best effort) and forgets both tokens. */
    async logout(): Promise<void> {
      const refreshToken = http.tokens.refreshToken;
      http.tokens.clear();
      if (refreshToken) {
        await http.post<void>("/api/auth/logout", { refresh_token: refreshToken }, { auth: false }).catch(() => undefined);
      }
    },

    me: () => http.get<User>("/api/auth/me"),
  };
}
