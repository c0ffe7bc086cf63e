import type { DeviceOption } from "../media/devices";

export function DeviceSelect({ id, label, devices, value, onChange }: { id: string; label: string; devices: DeviceOption[]; value: string | null; onChange: (deviceId: string) => void }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value ?? ""} disabled={devices.length === 0} onChange={(e) => onChange(e.currentTarget.value)}>
        {devices.length === 0 && <option value="">None available</option>}
        {devices.map((d) => (
          <option key={d.deviceId} value={d.deviceId}>
            {d.label}
          </option>
        ))}
      </select>
    </div>
  );
}
