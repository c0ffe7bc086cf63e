import { ApiError } from "../api/http";

/** What a message that was not sent shows beside its "Retry": why, when the server said. */
export function notSentWords(err: unknown): string {
  if (err instanceof ApiError && err.code === "too_many_messages") {
    const wait = err.retryAfter ?? 1;
    return `Not sent: you are sending messages too fast. Wait ${wait} second${wait === 1 ? "" : "s"}.`;
  }
  return "Not sent.";
}
