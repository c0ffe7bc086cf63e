import { linkClick } from "../app/router";
import { useTitle } from "../lib/useTitle";

export function NotFound() {
  useTitle("Page not found");
  return (
    <main class="centered" id="main">
      <h1>Page not found</h1>
      <p>
        <a href="/" onClick={linkClick}>
          Go to your meetings
        </a>
      </p>
    </main>
  );
}
