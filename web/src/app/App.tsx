import { useEffect, useMemo } from "preact/hooks";
import { CallCenter } from "../calls/center";
import { CallsContext } from "../calls/context";
import { CallOverlay } from "../components/CallOverlay";
import { Contacts } from "../screens/Contacts";
import { Developer } from "../screens/Developer";
import { Home } from "../screens/Home";
import { Meeting } from "../screens/Meeting";
import { NotFound } from "../screens/NotFound";
import { SessionEnded } from "../screens/SessionEnded";
import { SignIn } from "../screens/SignIn";
import { SignUp } from "../screens/SignUp";
import { useStore } from "../lib/store";
import { SessionContext } from "./context";
import { UserSocketContext, useAppSocket } from "./userSocket";
import { matchRoute, navigate, safeNext, useLocation } from "./router";
import type { Session } from "./session";

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

function Splash({ session }: { session: Session }) {
  const { unreachable } = useStore(session.state);
  return (
    <main class="centered" id="main">
      {unreachable ? (
        <>
          <h1>Parley is not reachable</h1>
          <div role="alert" class="alert alert-error">
            The server could not be reached. Check your connection.
          </div>
          <button type="button" class="button-primary" onClick={() => void session.restore()}>
            Try again
          </button>
        </>
      ) : (
        <p aria-live="polite">Loading…</p>
      )}
    </main>
  );
}

/** One call center per signed-in user, for as long as they stay signed in. */
function useCallCenter(session: Session, userId: string | null): CallCenter | null {
  const center = useMemo(() => (userId ? new CallCenter(session.api, userId) : null), [userId]);
  useEffect(() => {
    if (!center) return;
    center.start();
    return () => center.stop();
  }, [center]);
  return center;
}

export function App({ session }: { session: Session }) {
  const { status, user, ended } = useStore(session.state);
  const signedIn = status === "signed-in" && ended === null;
  const calls = useCallCenter(session, signedIn ? (user?.user_id ?? null) : null);
  const { path, search } = useLocation();
  const route = matchRoute(path);
  const userSocket = useAppSocket(session, signedIn && route.name !== "meeting", calls);

  let screen;
  if (ended !== null) {
    screen = <SessionEnded reason={ended} />;
  } else if (status === "restoring") {
    screen = <Splash session={session} />;
  } else if (route.name === "signin" || route.name === "signup") {
    screen = status === "signed-in" ? <Redirect to={safeNext(search.get("next"))} /> : route.name === "signin" ? <SignIn /> : <SignUp />;
  } else if (route.name === "not-found") {
    screen = <NotFound />;
  } else if (status !== "signed-in" && route.name === "meeting") {
    // not signed in: the meeting page offers "Join as a guest" when the meeting allows guests,
    // else it sends to sign-in (screens/Meeting.tsx)
    screen = <Meeting key={route.meetingId} meetingId={route.meetingId} guest />;
  } else if (status !== "signed-in") {
    const here = path + (search.size ? `?${search}` : "");
    screen = <Redirect to={here === "/" ? "/signin" : `/signin?next=${encodeURIComponent(here)}`} />;
  } else if (route.name === "home") {
    screen = <Home />;
  } else if (route.name === "contacts") {
    screen = <Contacts />;
  } else if (route.name === "developer") {
    screen = <Developer />;
  } else {
    screen = <Meeting key={route.meetingId} meetingId={route.meetingId} />;
  }
  return (
    <SessionContext.Provider value={session}>
      <CallsContext.Provider value={status === "signed-in" ? calls : null}>
        <UserSocketContext.Provider value={userSocket}>
          {screen}
          {status === "signed-in" && calls && <CallOverlay center={calls} />}
        </UserSocketContext.Provider>
      </CallsContext.Provider>
    </SessionContext.Provider>
  );
}
