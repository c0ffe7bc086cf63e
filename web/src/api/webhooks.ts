import type { HttpClient } from "./http";
import type { CreatedWebhookEndpoint, WebhookDelivery, WebhookDeliveryPage, WebhookEndpointList, WebhookEventType } from "./types";

const BASE = "/api/webhooks";

const one = (endpointId: string) => `${BASE}/${encodeURIComponent(endpointId)}`;

/** The signed-in user's webhook endpoints and their delivery log: docs/webhooks.md. */
export function webhooksApi(http: HttpClient) {
  return {
    list: () => http.get<WebhookEndpointList>(BASE),
    /** The answer holds the signing secret: shown once, never again. */
    create: (url: string, eventTypes: WebhookEventType[], description = "") =>
      http.post<CreatedWebhookEndpoint>(BASE, { url, event_types: eventTypes, description }),
    remove: (endpointId: string) => http.delete<void>(one(endpointId)),
    deliveries: (endpointId: string, limit = 20) => http.get<WebhookDeliveryPage>(`${one(endpointId)}/deliveries?limit=${limit}`),
    replay: (endpointId: string, deliveryId: string) =>
      http.post<WebhookDelivery>(`${one(endpointId)}/deliveries/${encodeURIComponent(deliveryId)}/replay`),
  };
}
