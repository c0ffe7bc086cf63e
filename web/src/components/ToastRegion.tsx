import { useStore } from "../lib/store";
import type { ToastQueue } from "../room/toasts";

/** The room's passing notices ("Grace joined"): a polite live region that is always there (so
 * screen readers hear what is added), never focused, nothing to click. */
export function ToastRegion({ queue }: { queue: ToastQueue }) {
  const { toasts } = useStore(queue.state);
  return (
    <div class="toasts" role="status" aria-live="polite" aria-atomic="false" data-testid="toasts">
      {toasts.map((t) => (
        <p key={t.id} class={`toast toast-${t.kind}`} data-testid="toast" data-kind={t.kind}>
          {t.text}
        </p>
      ))}
    </div>
  );
}
