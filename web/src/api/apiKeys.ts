import type { HttpClient } from "./http";
import type { ApiKey, ApiKeyList, ApiKeyScope, CreatedApiKey } from "./types";

const BASE = "/api/auth/keys";

/** The signed-in user's API keys: docs/http-api.md, "API keys". */
export function apiKeysApi(http: HttpClient) {
  return {
    list: () => http.get<ApiKeyList>(BASE),
    /** The answer holds the secret: shown once, never again. */
    create: (name: string, scopes: ApiKeyScope[]) => http.post<CreatedApiKey>(BASE, { name, scopes }),
    revoke: (keyId: string) => http.delete<ApiKey>(`${BASE}/${encodeURIComponent(keyId)}`),
  };
}
