import { useSession } from "../app/context";
import { linkClick } from "../app/router";
import { useStore } from "../lib/store";
import { useTitle } from "../lib/useTitle";

export function NotFound() {
  useTitle("Page not found");
  const { status } = useStore(useSession().state);
  return (
    <main class="centered" id="main">
      <h1>Page not found</h1>
      <p>
        {status === "signed-in" ? (
          <a href="/" onClick={linkClick}>
            Go to your meetings
          </a>
        ) : (
          <a href="/signin" onClick={linkClick}>
            Sign in
          </a>
        )}
      </p>
    </main>
  );
}
