import { useEffect, useState } from "preact/hooks";
import { useStore } from "../lib/store";
import { cuesEnabled, setCuesEnabled } from "../media/cues";
import type { LocalMedia } from "../media/local";
import { DeviceSelect } from "./DeviceSelect";

/** Camera and microphone choice inside the room, and whether joins and leaves make a sound: the new device's track replaces the old one
 * on every peer connection (no renegotiation), as on the pre-join screen. */
export function DevicesPanel({ media, id = "devices-panel" }: { media: LocalMedia; id?: string }) {
  const m = useStore(media.state);
  const [sounds, setSounds] = useState(cuesEnabled);
  useEffect(() => {
    void media.refreshDevices(); // a device plugged in since joining shows up
  }, [media]);
  const headingId = `${id}-heading`;
  return (
    <section class="panel" id={id} aria-labelledby={headingId}>
      <h2 id={headingId} class="panel-title">
        Devices
      </h2>
      <DeviceSelect id="room-camera" label="Camera" devices={m.cameras} value={m.cameraId} onChange={(deviceId) => void media.selectCamera(deviceId)} />
      <DeviceSelect id="room-microphone" label="Microphone" devices={m.microphones} value={m.microphoneId} onChange={(deviceId) => void media.selectMicrophone(deviceId)} />
      {m.speakers.length > 0 && <DeviceSelect id="room-speaker" label="Speaker" devices={m.speakers} value={m.speakerId ?? m.speakers[0].deviceId} onChange={(deviceId) => media.selectSpeaker(deviceId)} />}
      <label class="check-field">
        <input
          type="checkbox"
          checked={sounds}
          onChange={(e) => {
            setCuesEnabled(e.currentTarget.checked);
            setSounds(e.currentTarget.checked);
          }}
        />
        Sound when someone joins or leaves
      </label>
    </section>
  );
}
