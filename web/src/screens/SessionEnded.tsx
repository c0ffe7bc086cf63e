import { useSession } from "../app/context";
import { navigate } from "../app/router";
import { useTitle } from "../lib/useTitle";
import { AuthLayout } from "./AuthLayout";

/** Why the session ended, in words (signaling's `session-ended` reason). */
export function endedReason(reason: string): string {
  if (reason === "replaced") return "You chose “Use here” in another window or on another device, so Parley closed this one.";
  if (reason === "signed_out") return "You signed out in another window or on another device.";
  return "This session was ended from another place.";
}

/** Shown instead of any page once the session was ended from elsewhere (not "Please sign in"). */
export function SessionEnded({ reason }: { reason: string }) {
  useTitle("Session ended");
  const session = useSession();
  const signInAgain = () => {
    session.dismissEnded();
    navigate("/signin", { replace: true });
  };
  return (
    <AuthLayout title="Your session ended here">
      <div role="alert" class="alert alert-warning" data-testid="session-ended">
        <div class="alert-body">{endedReason(reason)}</div>
      </div>
      <p>Parley keeps one active session per person. Signing in here again asks before it ends the other one.</p>
      <button type="button" class="button-primary button-wide" onClick={signInAgain}>
        Sign in here again
      </button>
    </AuthLayout>
  );
}
