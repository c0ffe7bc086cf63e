/** "Allow guests": people with the link and no account may join with just a name. */
export function AllowGuestsSwitch({ id, checked, onChange, disabled = false }: { id: string; checked: boolean; onChange: (on: boolean) => void; disabled?: boolean }) {
  return (
    <div class="field field-switch">
      <input id={id} type="checkbox" role="switch" checked={checked} disabled={disabled} onChange={(e) => onChange(e.currentTarget.checked)} />
      <label for={id}>Allow guests</label>
      <p class="field-hint">People with the link can join without an account, with just a name.</p>
    </div>
  );
}
