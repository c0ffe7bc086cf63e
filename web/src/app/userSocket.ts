import { createContext } from "preact";
import { useContext, useEffect, useMemo } from "preact/hooks";
import type { CallCenter } from "../calls/center";
import { SignalingClient } from "../signaling/client";
import type { Session } from "./session";

/**
 * The signed-in user's signaling socket on every page outside a meeting (home, contacts,
 * developer). A meeting page holds its own socket (the room's), so one page never holds two.
 * While it is connected the user shows online to their contacts, their single-session lease
 * is renewed (docs/signaling.md, "Sessions"), calls ring (the call center attaches it) and
 * pages subscribe to what they show (`presence`, `contacts-changed`).
 */
export const UserSocketContext = createContext<SignalingClient | null>(null);

/** The app's user socket, or null where there is none (signed out, in a meeting). */
export function useUserSocket(): SignalingClient | null {
  return useContext(UserSocketContext);
}

/** Opens the user socket while `enabled`, closes it otherwise; `calls` rings through it. */
export function useAppSocket(session: Session, enabled: boolean, calls: CallCenter | null): SignalingClient | null {
  const signaling = useMemo(
    () =>
      enabled
        ? new SignalingClient({
            getToken: () => session.api.http.accessToken(),
            refreshToken: () => session.api.http.refresh(),
            onSessionEnded: (reason) => session.ended(reason),
          })
        : null,
    [enabled],
  );
  useEffect(() => {
    if (!signaling) return;
    signaling.connect();
    return () => signaling.close();
  }, [signaling]);
  useEffect(() => (signaling && calls ? calls.attach(signaling) : undefined), [signaling, calls]);
  return signaling;
}
