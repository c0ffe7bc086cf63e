import { useState } from "preact/hooks";
import type { Admission } from "../api/types";
import { Alert } from "./Alert";

const CHOICES: { value: Admission; label: string }[] = [
  { value: "open", label: "Anyone with the link" },
  { value: "lobby", label: "People I admit (lobby)" },
  { value: "locked", label: "Nobody new (locked)" },
];

/** The host's and co-hosts' "Who can join" (`PATCH /api/meetings/{id}` `admission`). */
export function AdmissionSelect({ id, value, onChange }: { id: string; value: Admission; onChange: (admission: Admission) => Promise<unknown> }) {
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState(false);
  const change = async (admission: Admission) => {
    setBusy(true);
    setFailed(false);
    try {
      await onChange(admission);
    } catch {
      setFailed(true);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="field admission-field">
      <label for={id}>Who can join</label>
      <select id={id} value={value} disabled={busy} onChange={(e) => void change(e.currentTarget.value as Admission)}>
        {CHOICES.map((c) => (
          <option key={c.value} value={c.value}>
            {c.label}
          </option>
        ))}
      </select>
      {failed && <Alert>The setting could not be changed. Try again.</Alert>}
    </div>
  );
}
