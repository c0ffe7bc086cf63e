// Camera and microphone access: opening devices, listing them, and naming failures in words.

export type MediaErrorKind = "denied" | "not-found" | "in-use" | "unsupported" | "other";

export function classifyMediaError(err: unknown): MediaErrorKind {
  const name = err instanceof DOMException || err instanceof Error ? err.name : "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
    case "PermissionDeniedError":
      return "denied";
    case "NotFoundError":
    case "DevicesNotFoundError":
    case "OverconstrainedError":
      return "not-found";
    case "NotReadableError":
    case "TrackStartError":
    case "AbortError":
      return "in-use";
    case "TypeError":
      return typeof navigator !== "undefined" && !navigator.mediaDevices ? "unsupported" : "other";
    default:
      return "other";
  }
}

export interface DeviceOption {
  deviceId: string;
  label: string;
}

export interface DeviceLists {
  cameras: DeviceOption[];
  microphones: DeviceOption[];
  /** Audio outputs; empty where the browser cannot choose one (`HTMLMediaElement.setSinkId`). */
  speakers: DeviceOption[];
}

export async function listDevices(): Promise<DeviceLists> {
  if (!navigator.mediaDevices?.enumerateDevices) return { cameras: [], microphones: [], speakers: [] };
  const devices = await navigator.mediaDevices.enumerateDevices();
  const pick = (kind: MediaDeviceKind, noun: string) =>
    devices
      .filter((d) => d.kind === kind && d.deviceId)
      .map((d, i) => ({ deviceId: d.deviceId, label: d.label || `${noun} ${i + 1}` }));
  return {
    cameras: pick("videoinput", "Camera"),
    microphones: pick("audioinput", "Microphone"),
    speakers: canChooseSpeaker() ? pick("audiooutput", "Speaker") : [],
  };
}

/** Whether this browser plays media on a chosen output (`HTMLMediaElement.setSinkId`). */
export function canChooseSpeaker(): boolean {
  return typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;
}

export const VIDEO_CONSTRAINTS: MediaTrackConstraints = {
  width: { ideal: 640 },
  height: { ideal: 360 },
  frameRate: { ideal: 24, max: 30 },
};

export const AUDIO_CONSTRAINTS: MediaTrackConstraints = {
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
};

function deviceConstraint(base: MediaTrackConstraints, deviceId: string | null): MediaTrackConstraints {
  return deviceId ? { ...base, deviceId: { exact: deviceId } } : base;
}

/** Opens the chosen devices (null: the default one, false: not wanted). */
export async function openDevices(audio: string | null | false, video: string | null | false): Promise<MediaStream> {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new DOMException("getUserMedia is not available", "NotSupportedError");
  }
  return navigator.mediaDevices.getUserMedia({
    audio: audio === false ? false : deviceConstraint(AUDIO_CONSTRAINTS, audio),
    video: video === false ? false : deviceConstraint(VIDEO_CONSTRAINTS, video),
  });
}

/**
 * Words for a failure to open the camera and/or microphone, and what can still be done:
 * before joining, with what is left; later (`retry`), how to allow access.
 */
export function describeMediaFailure(kind: MediaErrorKind, got: { audio: boolean; video: boolean }, retry = false): string {
  const lead =
    kind === "denied"
      ? "Camera or microphone access was denied."
      : kind === "not-found"
        ? "No camera or microphone was found."
        : kind === "in-use"
          ? "The camera or microphone is in use by another application."
          : kind === "unsupported"
            ? "This browser cannot use a camera or microphone here."
            : "The camera or microphone could not be started.";
  if (retry) {
    return kind === "denied" ? `${lead} Allow access in the browser's site settings, then try again.` : `${lead} Check the device, then try again.`;
  }
  const then =
    got.audio && !got.video
      ? "You can join with audio only."
      : got.video && !got.audio
        ? "You can join without your microphone."
        : "You can still join without camera and microphone.";
  return `${lead} ${then}`;
}
