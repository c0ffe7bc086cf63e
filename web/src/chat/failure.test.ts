import { describe, expect, it } from "vitest";
import { ApiError, NetworkError } from "../api/http";
import { notSentWords } from "./failure";

describe("notSentWords", () => {
  it("says to slow down, and for how long, when the post limit refused the message", () => {
    const refused = new ApiError(429, "too_many_messages", "you are sending messages too fast; try again in 4 seconds", 4);
    expect(notSentWords(refused)).toBe("Not sent: you are sending messages too fast. Wait 4 seconds.");
    expect(notSentWords(new ApiError(429, "too_many_messages", "", 1))).toBe(
      "Not sent: you are sending messages too fast. Wait 1 second.",
    );
  });

  it("says only that it was not sent otherwise", () => {
    expect(notSentWords(new NetworkError(new TypeError("Failed to fetch")))).toBe("Not sent.");
    expect(notSentWords(new ApiError(503, "unavailable", "try again"))).toBe("Not sent.");
  });
});
