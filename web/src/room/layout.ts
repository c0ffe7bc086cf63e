// The room's layout (docs/web-client.md, "Layouts"): a grid of equal tiles, or one tile large
// on the stage with the others in a strip. Which tile is large, and why, is decided here.

/** The key of a camera tile is its participant id; a screen share's is this. */
export function screenKey(sid: string): string {
  return `${sid}:screen`;
}

/** Why one tile is large: this viewer pinned it, the host spotlights it, or it is a shared screen. */
export type FeaturedReason = "pin" | "spotlight" | "presentation";

export interface Featured {
  key: string;
  reason: FeaturedReason;
}

export interface LayoutInput {
  /** Every tile shown now. */
  keys: readonly string[];
  /** The tile this viewer pinned (null: none). */
  pinned: string | null;
  /** The participant id the host or a co-host spotlights for everyone (null: none). */
  spotlight?: string | null;
  /** The screen shares, oldest first (see `shareOrder`). */
  shares: readonly string[];
}

/** The tile shown large, or null for the grid. This viewer's pin wins over a spotlight, which
 * wins over a shared screen; of several shared screens the latest is shown. */
export function featuredTile({ keys, pinned, spotlight = null, shares }: LayoutInput): Featured | null {
  const shown = new Set(keys);
  if (pinned && shown.has(pinned)) return { key: pinned, reason: "pin" };
  if (spotlight && shown.has(spotlight)) return { key: spotlight, reason: "spotlight" };
  for (let i = shares.length - 1; i >= 0; i--) if (shown.has(shares[i])) return { key: shares[i], reason: "presentation" };
  return null;
}

/** The screen shares in the order they started: `before` (the order known so far) without the
 * shares that stopped, then the ones new in `now` (in `now`'s order). Returns `before` itself
 * when nothing changed. */
export function shareOrder(before: readonly string[], now: readonly string[]): readonly string[] {
  const current = new Set(now);
  const kept = before.filter((key) => current.has(key));
  const added = now.filter((key) => !kept.includes(key));
  return kept.length === before.length && added.length === 0 ? before : [...kept, ...added];
}

/** Columns of the grid for `count` tiles: wide (one up to one tile, two up to four, then three)
 * and narrow (a phone: one up to three, then two). A last row that is not full is centred. */
export function gridColumns(count: number): { wide: number; narrow: number } {
  return { wide: count <= 1 ? 1 : count <= 4 ? 2 : 3, narrow: count <= 3 ? 1 : 2 };
}
