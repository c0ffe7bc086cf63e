import type { TargetedMouseEvent } from "preact";
import { useEffect, useState } from "preact/hooks";

// A History API router for a handful of routes: no dependency needed.

const NAVIGATE_EVENT = "parley:navigate";

export interface Location {
  path: string;
  search: URLSearchParams;
}

function current(): Location {
  return { path: window.location.pathname, search: new URLSearchParams(window.location.search) };
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === window.location.pathname + window.location.search) return;
  if (options.replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  window.dispatchEvent(new Event(NAVIGATE_EVENT));
}

export function useLocation(): Location {
  const [location, setLocation] = useState(current);
  // Re-render only when the address actually changed.
  const setIfChanged = (next: Location) =>
    setLocation((prev) => (prev.path === next.path && prev.search.toString() === next.search.toString() ? prev : next));
  useEffect(() => {
    const update = () => setIfChanged(current());
    window.addEventListener("popstate", update);
    window.addEventListener(NAVIGATE_EVENT, update);
    // A child's effect may have navigated before this listener existed.
    update();
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener(NAVIGATE_EVENT, update);
    };
  }, []);
  return location;
}

export type Route = { name: "signin" } | { name: "signup" } | { name: "home" } | { name: "contacts" } | { name: "developer" } | { name: "meeting"; meetingId: string } | { name: "not-found" };

export function matchRoute(path: string): Route {
  if (path === "/" || path === "") return { name: "home" };
  if (path === "/signin") return { name: "signin" };
  if (path === "/signup") return { name: "signup" };
  if (path === "/contacts" || path === "/contacts/") return { name: "contacts" };
  if (path === "/developer" || path === "/developer/") return { name: "developer" };
  const meeting = /^\/m\/([A-Za-z0-9_-]{1,128})\/?$/.exec(path);
  if (meeting) return { name: "meeting", meetingId: meeting[1] };
  return { name: "not-found" };
}

/** Where to go after signing in: a same-site path only (never another origin). */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  return next;
}

/** An anchor that navigates without reloading (modified clicks still open new tabs). */
export function linkClick(event: TargetedMouseEvent<HTMLAnchorElement>): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const href = event.currentTarget.getAttribute("href");
  if (!href || !href.startsWith("/")) return;
  event.preventDefault();
  navigate(href);
}
