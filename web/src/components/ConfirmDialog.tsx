import { useEffect, useId, useRef } from "preact/hooks";

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
  const id = useId(); // a page may hold several dialogs: their titles must not share an id
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
      aria-labelledby={`${id}-title`}
      aria-describedby={`${id}-message`}
      data-testid="confirm-dialog"
      onCancel={(e) => {
        e.preventDefault();
        onCancel();
      }}
    >
      <h2 id={`${id}-title`}>{title}</h2>
      <p id={`${id}-message`}>{message}</p>
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
