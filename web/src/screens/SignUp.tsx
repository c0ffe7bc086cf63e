import { useState } from "preact/hooks";
import { ApiError } from "../api";
import { useSession } from "../app/context";
import { linkClick, navigate, safeNext, useLocation } from "../app/router";
import { Alert } from "../components/Alert";
import { useTitle } from "../lib/useTitle";
import { AuthLayout } from "./AuthLayout";

function signUpError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === "email_taken") return "An account with this email already exists. Sign in instead.";
    if (err.status === 422) return `Please check the form. ${err.message}`;
    return `Creating the account failed: ${err.message}`;
  }
  return "The server could not be reached. Check your connection and try again.";
}

export function SignUp() {
  useTitle("Create an account");
  const session = useSession();
  const { search } = useLocation();
  const next = safeNext(search.get("next"));
  const [email, setEmail] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // an answer about what the form held goes once the form changes
  const edit = (set: (value: string) => void, value: string) => {
    set(value);
    if (!busy) setError(null);
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    if (password.length < 8) {
      setError("The password needs at least 8 characters.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await session.signUp(email.trim(), displayName.trim(), password);
      navigate(next, { replace: true });
    } catch (err) {
      setError(signUpError(err));
      setBusy(false);
    }
  };

  const signinHref = next !== "/" ? `/signin?next=${encodeURIComponent(next)}` : "/signin";
  return (
    <AuthLayout title="Create an account">
      {error && <Alert>{error}</Alert>}
      <form class="form" onSubmit={submit}>
        <div class="field">
          <label for="signup-email">Email</label>
          <input id="signup-email" type="email" autocomplete="email" required value={email} onInput={(e) => edit(setEmail, e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="signup-name">Display name</label>
          <input id="signup-name" type="text" autocomplete="name" required maxLength={80} value={displayName} onInput={(e) => edit(setDisplayName, e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="signup-password">Password</label>
          <input
            id="signup-password"
            type="password"
            autocomplete="new-password"
            required
            minLength={8}
            aria-describedby="signup-password-hint"
            value={password}
            onInput={(e) => edit(setPassword, e.currentTarget.value)}
          />
          <p class="field-hint" id="signup-password-hint">
            At least 8 characters. Common passwords are refused; a few unrelated words make a strong one.
          </p>
        </div>
        <button type="submit" class="button-primary button-wide" disabled={busy}>
          {busy ? "Creating account…" : "Create account"}
        </button>
      </form>
      <p class="auth-switch">
        Already have an account?{" "}
        <a href={signinHref} onClick={linkClick}>
          Sign in
        </a>
      </p>
    </AuthLayout>
  );
}
