import type { ComponentChildren } from "preact";

/** A problem in words, announced to screen readers (role="alert"). */
export function Alert({ children, tone = "error", onDismiss }: { children: ComponentChildren; tone?: "error" | "warning"; onDismiss?: () => void }) {
  return (
    <div role="alert" class={`alert alert-${tone}`}>
      <div class="alert-body">{children}</div>
      {onDismiss && (
        <button type="button" class="button-quiet alert-dismiss" onClick={onDismiss}>
          Dismiss
        </button>
      )}
    </div>
  );
}
