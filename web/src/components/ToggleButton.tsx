import { Icon, type IconName } from "./Icon";

interface ToggleButtonProps {
  /** The accessible name; constant (the state is `aria-pressed`). */
  label: string;
  pressed: boolean;
  onToggle: () => void;
  icon: IconName;
  iconOff?: IconName;
  disabled?: boolean;
  /** Extra words shown under the label, e.g. "Off" (hidden from the accessible name). */
  hint?: string;
  danger?: boolean;
  /** Being off is worth noticing (microphone, camera): shown in red. */
  warnWhenOff?: boolean;
  /** A keyboard shortcut, as `aria-keyshortcuts` writes it (e.g. "Control+D"): shown in the tooltip. */
  shortcut?: string;
}

/** A control-bar toggle: `aria-pressed="true"` when on. */
export function ToggleButton({ label, pressed, onToggle, icon, iconOff, disabled, hint, danger, warnWhenOff, shortcut }: ToggleButtonProps) {
  return (
    <button
      type="button"
      class={`control${pressed ? " control-on" : ""}${warnWhenOff && !pressed ? " control-off" : ""}${danger && pressed ? " control-danger" : ""}`}
      aria-pressed={pressed ? "true" : "false"}
      aria-keyshortcuts={shortcut}
      title={shortcut ? `${label} (${shortcut.replace("Control", "Ctrl")})` : undefined}
      disabled={disabled}
      onClick={onToggle}
    >
      <Icon name={!pressed && iconOff ? iconOff : icon} />
      <span class="control-label">{label}</span>
      {hint && (
        <span class="control-hint" aria-hidden="true">
          {hint}
        </span>
      )}
    </button>
  );
}
