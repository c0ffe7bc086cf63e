import type { HttpClient } from "./http";
import type { TurnCredentials } from "./types";

export function turnApi(http: HttpClient) {
  return {
    credentials: () => http.get<TurnCredentials>("/api/turn/credentials"),
  };
}
