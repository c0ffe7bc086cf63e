import { useEffect, useRef } from "preact/hooks";

interface ConfirmDialogProps {
  open: boolean;
  title: string;
  /** What happens if confirmed, in words. */
  message: string;
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
}

/**
 * A modal question (the native `<dialog>`, opened with `showModal()`: focus moves into it, the
 * rest of the page is inert, Escape cancels). The cancel button has the focus first, so an
 * Enter pressed by habit does not confirm.
 */
export function ConfirmDialog({ open, title, message, confirmLabel, onConfirm, onCancel }: ConfirmDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      dialog.showModal();
      cancelRef.current?.focus();
    } else if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      class="confirm-dialog"
      aria-labelledby="confirm-dialog-title"
      aria-describedby="confirm-dialog-message"
      data-testid="confirm-dialog"
      onCancel={(e) => {
        e.preventDefault();
        onCancel();
      }}
    >
      <h2 id="confirm-dialog-title">{title}</h2>
      <p id="confirm-dialog-message">{message}</p>
      <div class="confirm-dialog-actions">
        <button type="button" ref={cancelRef} class="button-secondary" onClick={onCancel}>
          Cancel
        </button>
        <button type="button" class="button-primary button-danger" onClick={onConfirm}>
          {confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
