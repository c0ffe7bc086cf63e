import type { ComponentChildren } from "preact";
import { linkClick } from "../app/router";

/** The page header: the Parley brand (a link home, except on home itself), the signed-in
 * user's name, and any actions passed as children (on a narrow phone the name then makes room
 * for them). */
export function TopBar({ userName, onHome = false, children }: { userName?: string; onHome?: boolean; children?: ComponentChildren }) {
  return (
    <header class={children ? "topbar topbar-actions" : "topbar"}>
      {onHome ? (
        <span class="brand">Parley</span>
      ) : (
        <a href="/" onClick={linkClick} class="brand">
          Parley
        </a>
      )}
      <span class="topbar-user">{userName}</span>
      {children}
    </header>
  );
}
