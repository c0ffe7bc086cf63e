import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { menuKeyTarget } from "../lib/menuKeys";
import { VIDEO_FILTERS, type VideoFilter } from "../media/filters";
import { Icon } from "./Icon";

interface FilterMenuProps {
  value: VideoFilter;
  onChange: (filter: VideoFilter) => void;
}

/**
 * The control bar's "Video filter": a menu button (WAI-ARIA APG "Menu Button") whose menu has
 * one `menuitemradio` per filter, the current one checked. Opening focuses the checked item;
 * the arrows, Home and End move; Enter, Space or a click chooses (the menu closes, the focus
 * goes back to the button); Escape closes it with the focus back on the button; Tab and a click
 * elsewhere close it. The button shows the current filter under its name (not part of the name).
 * Its elements keep the phone's "More" sheet open (`data-keeps-menu`), as the select did.
 */
export function FilterMenu({ value, onChange }: FilterMenuProps) {
  const [open, setOpen] = useState(false);
  const picker = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);
  const current = VIDEO_FILTERS.find((f) => f.value === value) ?? VIDEO_FILTERS[0];

  const items = () => Array.from(menu.current?.querySelectorAll<HTMLElement>('[role="menuitemradio"]') ?? []);
  useLayoutEffect(() => {
    if (!open) return;
    (items().find((item) => item.getAttribute("aria-checked") === "true") ?? items()[0])?.focus();
    const onPointer = (event: PointerEvent) => {
      if (!picker.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener("pointerdown", onPointer);
    return () => document.removeEventListener("pointerdown", onPointer);
  }, [open]);

  const close = () => {
    setOpen(false);
    button.current?.focus();
  };
  const onMenuKey = (event: KeyboardEvent) => {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation(); // the filter menu closes, not the phone's "More" around it
      close();
      return;
    }
    if (event.key === "Tab") {
      setOpen(false);
      return;
    }
    const all = items();
    const target = menuKeyTarget(event.key, all.indexOf(document.activeElement as HTMLElement), all.length);
    if (target === null) return;
    event.preventDefault();
    all[target].focus();
  };

  return (
    <div class="filter-picker" ref={picker}>
      <button
        type="button"
        ref={button}
        class="control"
        data-keeps-menu
        aria-haspopup="menu"
        aria-expanded={open ? "true" : "false"}
        aria-controls={open ? "filter-menu" : undefined}
        onClick={() => setOpen(!open)}
        onKeyDown={(event) => {
          if (event.key === "Escape" && open) {
            // pressed before the opened menu took the focus: it closes all the same
            event.preventDefault();
            event.stopPropagation();
            setOpen(false);
            return;
          }
          if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
          event.preventDefault();
          setOpen(true);
        }}
      >
        <Icon name="filter" />
        <span class="control-label">Video filter</span>
        <span class="control-hint" aria-hidden="true">
          {current.label}
        </span>
      </button>
      {open && (
        <div class="filter-menu" id="filter-menu" role="menu" aria-label="Video filter" ref={menu} onKeyDown={onMenuKey}>
          {VIDEO_FILTERS.map((filter) => (
            <button
              type="button"
              key={filter.value}
              role="menuitemradio"
              aria-checked={filter.value === value ? "true" : "false"}
              tabIndex={-1}
              class="filter-choice"
              data-keeps-menu
              onClick={() => {
                onChange(filter.value);
                close();
              }}
            >
              <span class="filter-check" aria-hidden="true">
                {filter.value === value ? "✓" : ""}
              </span>
              {filter.label}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
