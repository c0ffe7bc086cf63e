import { describe, expect, it } from "vitest";
import type { Contact } from "../api";
import { describeInvitations } from "./invitations";

const from = (...names: string[]): Contact[] =>
  names.map((name, i) => ({
    contact_id: `c${i}`,
    user: { user_id: `u${i}`, email: `${name.toLowerCase()}@example.com`, display_name: name },
    relation: "incoming",
    since: "2026-12-05T10:00:00Z",
    presence: null,
  }));

describe("describeInvitations", () => {
  it("names one or two inviters and counts the others beyond the first", () => {
    expect(describeInvitations(from("Ada"))).toBe("Ada invited you to be contacts.");
    expect(describeInvitations(from("Ada", "Grace"))).toBe("Ada and Grace invited you to be contacts.");
    expect(describeInvitations(from("Ada", "Grace", "Linus"))).toBe("Ada and 2 others invited you to be contacts.");
  });
});
