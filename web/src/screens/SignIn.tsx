import { useState } from "preact/hooks";
import { ApiError } from "../api";
import { useSession } from "../app/context";
import { linkClick, navigate, safeNext, useLocation } from "../app/router";
import { Alert } from "../components/Alert";
import { useStore } from "../lib/store";
import { useTitle } from "../lib/useTitle";
import { AuthLayout } from "./AuthLayout";

function waitInWords(seconds: number | null): string {
  if (seconds === null) return "in a few minutes";
  if (seconds < 60) return `in ${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  return `in ${minutes} minute${minutes === 1 ? "" : "s"}`;
}

function signInError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === "invalid_credentials" || err.status === 401) return "The email or password is not right.";
    if (err.status === 422) return "Enter your email and password.";
    if (err.status === 429) return `Too many sign-in attempts. Try again ${waitInWords(err.retryAfter)}.`;
    return `Signing in failed: ${err.message}`;
  }
  return "The server could not be reached. Check your connection and try again.";
}

export function SignIn() {
  useTitle("Sign in");
  const session = useSession();
  const { notice } = useStore(session.state);
  const { search } = useLocation();
  const next = safeNext(search.get("next"));
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  /** The server answered 409 `active_session`: ask before ending the other session. */
  const [conflict, setConflict] = useState(false);
  const askedToSignIn = search.has("next") || !!notice;

  const signIn = async (takeover: boolean) => {
    setBusy(true);
    setError(null);
    try {
      await session.signIn(email.trim(), password, takeover);
      navigate(next, { replace: true });
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.code === "active_session") {
        setConflict(true);
        return;
      }
      setConflict(false);
      setError(signInError(err));
    }
  };

  const submit = (event: Event) => {
    event.preventDefault();
    void signIn(false);
  };

  if (conflict) {
    return (
      <AuthLayout title="You already have an active session">
        {error && <Alert>{error}</Alert>}
        <p data-testid="active-session">
          Parley is open with your account in another window or on another device. Use it here instead? The other
          session ends at once.
        </p>
        <div class="form-actions">
          <button type="button" class="button-quiet" disabled={busy} onClick={() => { setConflict(false); setPassword(""); }}>
            Cancel
          </button>
          <button type="button" class="button-primary" disabled={busy} onClick={() => void signIn(true)}>
            {busy ? "Switching…" : "Use here"}
          </button>
        </div>
      </AuthLayout>
    );
  }

  const signupHref = next !== "/" ? `/signup?next=${encodeURIComponent(next)}` : "/signup";
  return (
    <AuthLayout title="Sign in">
      {askedToSignIn && !error && <Alert tone="warning">{notice ?? "Please sign in to continue."}</Alert>}
      {error && <Alert>{error}</Alert>}
      <form class="form" onSubmit={submit}>
        <div class="field">
          <label for="signin-email">Email</label>
          <input id="signin-email" type="email" autocomplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="signin-password">Password</label>
          <input id="signin-password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </div>
        <button type="submit" class="button-primary button-wide" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
      <p class="auth-switch">
        New to Parley?{" "}
        <a href={signupHref} onClick={linkClick}>
          Create an account
        </a>
      </p>
    </AuthLayout>
  );
}
