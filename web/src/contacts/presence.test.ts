import { describe, expect, it } from "vitest";
import type { Contact, ContactList } from "../api/types";
import { applyPresence, describePresence, lastSeen } from "./presence";

const contact = (userId: string): Contact => ({
  contact_id: `a:${userId}`,
  user: { user_id: userId, email: `${userId}@example.com`, display_name: userId },
  relation: "accepted",
  since: "2026-01-01T00:00:00Z",
  presence: { state: "offline", last_seen: null },
});

const list = (): ContactList => ({ contacts: [contact("b"), contact("c")], incoming: [], outgoing: [], blocked: [] });

describe("applyPresence", () => {
  it("replaces the presence of the contact named by the event only", () => {
    const next = applyPresence(list(), { user_id: "c", state: "in_call", last_seen: "2026-01-01T10:00:00Z" });
    expect(next.contacts.map((c) => c.presence?.state)).toEqual(["offline", "in_call"]);
    expect(next.contacts[1].presence?.last_seen).toBe("2026-01-01T10:00:00Z");
  });

  it("ignores users who are not contacts", () => {
    const before = list();
    expect(applyPresence(before, { user_id: "stranger", state: "online", last_seen: null })).toBe(before);
  });
});

describe("describePresence", () => {
  const now = Date.parse("2026-01-01T12:00:00Z");
  it("says online, in a call, or offline with when last seen", () => {
    expect(describePresence({ state: "online", last_seen: null }, now)).toBe("Online");
    expect(describePresence({ state: "in_call", last_seen: null }, now)).toBe("In a call");
    expect(describePresence({ state: "offline", last_seen: "2026-01-01T11:55:00Z" }, now)).toBe("Offline · last seen 5 min ago");
    expect(describePresence(null, now)).toBe("Offline · last seen never");
  });

  it("counts seconds, minutes and hours", () => {
    expect(lastSeen("2026-01-01T11:59:30Z", now)).toBe("just now");
    expect(lastSeen("2026-01-01T09:00:00Z", now)).toBe("3 h ago");
    expect(lastSeen("garbage", now)).toBe("never");
  });
});
