import { useEffect, useState } from "preact/hooks";

/** The phone layout's media query: the width below which the room shows one row of controls,
 * a "More" menu and its panels as bottom sheets (styles.css uses the same 700 px). */
export const PHONE_QUERY = "(max-width: 700px)";

/** Whether `query` matches now; follows its changes (a rotated phone, a resized window). */
export function useMediaQuery(query: string): boolean {
  const read = () => typeof window.matchMedia === "function" && window.matchMedia(query).matches;
  const [matches, setMatches] = useState(read);
  useEffect(() => {
    if (typeof window.matchMedia !== "function") return;
    const list = window.matchMedia(query);
    const onChange = () => setMatches(list.matches);
    onChange();
    list.addEventListener("change", onChange);
    return () => list.removeEventListener("change", onChange);
  }, [query]);
  return matches;
}
