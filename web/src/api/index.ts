import { apiKeysApi } from "./apiKeys";
import { authApi } from "./auth";
import { callsApi } from "./calls";
import { chatApi } from "./chat";
import { contactsApi } from "./contacts";
import { directMessagesApi } from "./directMessages";
import { HttpClient, type HttpClientOptions } from "./http";
import { meetingsApi } from "./meetings";
import { turnApi } from "./turn";
import { webhooksApi } from "./webhooks";

export { ApiError, NetworkError, HttpClient } from "./http";
export { TokenStore } from "./tokens";
export type * from "./types";

/** The typed client of docs/http-api.md. */
export function createApi(options: HttpClientOptions) {
  const http = new HttpClient(options);
  return {
    http,
    auth: authApi(http),
    meetings: meetingsApi(http),
    chat: chatApi(http),
    contacts: contactsApi(http),
    calls: callsApi(http),
    directMessages: directMessagesApi(http),
    apiKeys: apiKeysApi(http),
    turn: turnApi(http),
    webhooks: webhooksApi(http),
  };
}

export type Api = ReturnType<typeof createApi>;
