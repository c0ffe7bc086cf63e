// Keyboard movement in a menu (WAI-ARIA APG, "Menu Button" pattern): the arrows move the focus
// to the next or previous item and wrap, Home and End go to the first and the last.

/** The index of the item to focus after `key` from item `current` of `count`, or null when the
 * key does not move the focus. */
export function menuKeyTarget(key: string, current: number, count: number): number | null {
  if (count <= 0) return null;
  switch (key) {
    case "ArrowDown":
    case "ArrowRight":
      return (current + 1 + count) % count;
    case "ArrowUp":
    case "ArrowLeft":
      return (current - 1 + count) % count;
    case "Home":
      return 0;
    case "End":
      return count - 1;
    default:
      return null;
  }
}
