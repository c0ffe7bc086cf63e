import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Session } from "./session";

describe("Session", () => {
  beforeEach(() => {
    vi.stubGlobal("window", { addEventListener: () => undefined, localStorage: undefined });
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  function signedIn(): Session {
    const session = new Session();
    session.state.set({ status: "signed-in", user: { user_id: "u1", email: "a@example.com", display_name: "Ada" } });
    return session;
  }

  it("shows the sign-in page, not 'session ended', when its own sign-out's session-ended comes first", async () => {
    const session = signedIn();
    session.api.auth.logout = async () => session.ended("signed_out"); // the socket's event, mid-logout
    await session.signOut();
    expect(session.state.get()).toMatchObject({ status: "signed-out", ended: null });
  });

  it("ignores its own sign-out's session-ended that comes after the logout's answer", async () => {
    const session = signedIn();
    session.api.auth.logout = async () => undefined;
    await session.signOut();
    session.ended("signed_out");
    expect(session.state.get()).toMatchObject({ status: "signed-out", ended: null });
  });

  it("shows why when the session is ended from elsewhere", () => {
    const session = signedIn();
    session.ended("replaced");
    expect(session.state.get()).toMatchObject({ status: "signed-out", ended: "replaced" });
  });
});
