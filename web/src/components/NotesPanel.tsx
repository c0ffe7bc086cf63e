import { useEffect } from "preact/hooks";
import { formatTime } from "../lib/format";
import { useStore } from "../lib/store";
import type { NotesStore } from "../room/notes";

const WORDS = {
  loading: "Loading…",
  unavailable: "Your notes could not be loaded",
  idle: "Not saved yet",
  saving: "Saving…",
  saved: "Saved",
  error: "Not saved, retrying…",
} as const;

/** Private notes for this meeting, saved as you type. */
export function NotesPanel({ notes, id = "notes-panel" }: { notes: NotesStore; id?: string }) {
  const { text, status, updatedAt } = useStore(notes.state);
  // Save what is pending when the panel closes.
  useEffect(() => () => void notes.flush(), [notes]);
  const headingId = `${id}-heading`;
  return (
    <section class="panel notes-panel" id={id} aria-labelledby={headingId}>
      <h2 id={headingId} class="panel-title">
        Notes
      </h2>
      <label for={`${id}-text`} class="field-label">
        Private notes
      </label>
      <textarea id={`${id}-text`} class="notes-text" value={text} maxLength={20000} aria-describedby={`${id}-hint ${id}-status`} onInput={(e) => notes.edit(e.currentTarget.value)} />
      <p class="panel-note" id={`${id}-hint`}>
        Only you can see these notes.
      </p>
      <p role="status" id={`${id}-status`} class={`notes-status notes-${status}`}>
        <span>{WORDS[status]}</span>
        {status === "saved" && updatedAt && <span class="notes-time"> at {formatTime(updatedAt)}</span>}
      </p>
    </section>
  );
}
