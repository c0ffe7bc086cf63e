import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { Icon } from "./Icon";

/** The id of the phone layout's "More" button: panels opened from its menu give the focus
 * back to it (the menu, and the button in it, are gone by then). */
export const MORE_BUTTON_ID = "more-controls-button";

interface ControlBarProps {
  /** The phone layout (docs/web-client.md): one row of primary controls and a "More" menu. */
  phone: boolean;
  /** Microphone and camera: always in the row. */
  devices: ComponentChildren;
  /** Share screen, raise hand, react, record, video filter: in "More" on a phone. */
  actions: ComponentChildren;
  /** The chat toggle: always in the row. */
  chat: ComponentChildren;
  /** Participants, notes, devices: in "More" on a phone. */
  panels: ComponentChildren;
  /** Leave: always in the row, last. */
  leave: ComponentChildren;
  /** Hang up or "End meeting for everyone" (or nothing): in "More" on a phone. */
  end?: ComponentChildren;
}

/**
 * The room's controls. Wide: three groups (media and actions, panels, leaving). Phone: one row
 * (microphone, camera, chat, More, Leave) and the rest in a disclosure under "More" that opens
 * above the row; a choice in it closes it (but for React, which shows its emoji there, and the
 * video filter, whose menu opens there), as do Escape (the focus back on "More") and a click elsewhere.
 */
export function ControlBar({ phone, devices, actions, chat, panels, leave, end }: ControlBarProps) {
  const [more, setMore] = useState(false);
  const nav = useRef<HTMLElement>(null);
  const moreButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!phone) setMore(false);
  }, [phone]);
  useEffect(() => {
    if (!more) return;
    const onPointer = (event: PointerEvent) => {
      if (!nav.current?.contains(event.target as Node)) setMore(false);
    };
    document.addEventListener("pointerdown", onPointer);
    return () => document.removeEventListener("pointerdown", onPointer);
  }, [more]);

  if (!phone) {
    return (
      <nav class="controls" aria-label="Meeting controls">
        <div class="control-group">
          {devices}
          {actions}
        </div>
        <div class="control-group">
          {chat}
          {panels}
        </div>
        <div class="control-group">
          {leave}
          {end}
        </div>
      </nav>
    );
  }

  const closeOnChoice = (event: MouseEvent) => {
    const button = (event.target as HTMLElement).closest("button");
    if (button && !button.hasAttribute("data-keeps-menu")) setMore(false);
  };
  return (
    <nav
      class="controls controls-phone"
      aria-label="Meeting controls"
      ref={nav}
      onKeyDown={(event) => {
        if (event.key !== "Escape" || !more) return;
        event.stopPropagation();
        setMore(false);
        moreButton.current?.focus();
      }}
    >
      {devices}
      {chat}
      <button
        type="button"
        id={MORE_BUTTON_ID}
        ref={moreButton}
        class="control"
        aria-expanded={more ? "true" : "false"}
        aria-controls={more ? "more-controls" : undefined}
        onClick={() => setMore(!more)}
      >
        <Icon name="more" />
        <span class="control-label">More</span>
      </button>
      {more && (
        <div class="more-sheet" id="more-controls" role="group" aria-label="More controls" data-testid="more-controls" onClick={closeOnChoice}>
          {actions}
          {panels}
          {end}
        </div>
      )}
      {leave}
    </nav>
  );
}
