import { useEffect } from "preact/hooks";
import { Home } from "../screens/Home";
import { Meeting } from "../screens/Meeting";
import { NotFound } from "../screens/NotFound";
import { SignIn } from "../screens/SignIn";
import { SignUp } from "../screens/SignUp";
import { useStore } from "../lib/store";
import { SessionContext } from "./context";
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

export function App({ session }: { session: Session }) {
  const { status } = useStore(session.state);
  const { path, search } = useLocation();
  const route = matchRoute(path);

  let screen;
  if (status === "restoring") {
    screen = <Splash session={session} />;
  } else if (route.name === "signin" || route.name === "signup") {
    screen = status === "signed-in" ? <Redirect to={safeNext(search.get("next"))} /> : route.name === "signin" ? <SignIn /> : <SignUp />;
  } else if (route.name === "not-found") {
    screen = <NotFound />;
  } else if (status !== "signed-in") {
    const here = path + (search.size ? `?${search}` : "");
    screen = <Redirect to={here === "/" ? "/signin" : `/signin?next=${encodeURIComponent(here)}`} />;
  } else if (route.name === "home") {
    screen = <Home />;
  } else {
    screen = <Meeting key={route.meetingId} meetingId={route.meetingId} />;
  }
  return <SessionContext.Provider value={session}>{screen}</SessionContext.Provider>;
}
