import { Store } from "../lib/store";
import { type DeviceOption, classifyMediaError, describeMediaFailure, listDevices, openDevices } from "./devices";
import { FilterPipeline, type VideoFilter } from "./filters";
import { captureScreen, describeScreenFailure } from "./screen";

export interface LocalMediaState {
  /** The microphone track (null: none). */
  audio: MediaStreamTrack | null;
  /** The camera track as captured (null: none). */
  camera: MediaStreamTrack | null;
  /** What the others receive for the camera: the filtered track, or the camera itself. */
  video: MediaStreamTrack | null;
  /** The shared screen (null: not sharing). */
  screen: MediaStreamTrack | null;
  micOn: boolean;
  cameraOn: boolean;
  filter: VideoFilter;
  cameras: DeviceOption[];
  microphones: DeviceOption[];
  cameraId: string | null;
  microphoneId: string | null;
  /** Audio outputs (empty where the browser cannot choose one) and the chosen one (null: the default). */
  speakers: DeviceOption[];
  speakerId: string | null;
  starting: boolean;
  /** A problem with the devices, in words (shown with role="alert"). */
  error: string | null;
  /** The camera or microphone was refused (the UI offers to join with what is left). */
  denied: boolean;
  /** Increases whenever a track is replaced (peer connections then update their senders). */
  revision: number;
}

/**
 * The user's own camera, microphone and screen share: opened once at pre-join and handed to the
 * room. Mute and camera-off only disable tracks (`track.enabled`), so the others' connections
 * never renegotiate for them; the filter pipeline sits between the camera and the senders.
 */
export class LocalMedia {
  readonly state = new Store<LocalMediaState>({
    audio: null,
    camera: null,
    video: null,
    screen: null,
    micOn: true,
    cameraOn: true,
    filter: "none",
    cameras: [],
    microphones: [],
    cameraId: null,
    microphoneId: null,
    speakers: [],
    speakerId: null,
    starting: false,
    error: null,
    denied: false,
    revision: 0,
  });
  private pipeline: FilterPipeline | null = null;
  private stopped = false;
  private readonly onDeviceChange = () => void this.refreshDevices();

  constructor() {
    navigator.mediaDevices?.addEventListener?.("devicechange", this.onDeviceChange);
  }

  get current(): LocalMediaState {
    return this.state.get();
  }

  /** Opens camera and microphone; on refusal falls back to whichever one is allowed. */
  async start(): Promise<void> {
    const { cameraId, microphoneId } = this.current;
    this.state.set({ starting: true, error: null, denied: false });
    let stream: MediaStream | null = null;
    let failure: unknown = null;
    try {
      stream = await openDevices(microphoneId, cameraId);
    } catch (err) {
      failure = err;
      for (const [audio, video] of [
        [microphoneId, false],
        [false, cameraId],
      ] as const) {
        try {
          stream = await openDevices(audio, video);
          break;
        } catch {
          /* try the next combination */
        }
      }
    }
    if (this.stopped) {
      stream?.getTracks().forEach((t) => t.stop());
      return;
    }
    const audio = stream?.getAudioTracks()[0] ?? null;
    const camera = stream?.getVideoTracks()[0] ?? null;
    this.replaceAudio(audio);
    this.replaceCamera(camera);
    const kind = failure ? classifyMediaError(failure) : null;
    this.state.set({
      starting: false,
      error: kind ? describeMediaFailure(kind, { audio: !!audio, video: !!camera }) : null,
      denied: kind === "denied",
      micOn: audio ? this.current.micOn : false,
      cameraOn: camera ? this.current.cameraOn : false,
    });
    this.applyEnabled();
    await this.refreshDevices();
  }

  async refreshDevices(): Promise<void> {
    try {
      const { cameras, microphones, speakers } = await listDevices();
      const cameraId = this.current.camera?.getSettings().deviceId ?? this.current.cameraId;
      const microphoneId = this.current.audio?.getSettings().deviceId ?? this.current.microphoneId;
      this.state.set({ cameras, microphones, speakers, cameraId: cameraId ?? null, microphoneId: microphoneId ?? null });
    } catch {
      /* device lists are a convenience */
    }
  }

  async selectCamera(deviceId: string): Promise<void> {
    this.state.set({ cameraId: deviceId });
    try {
      const stream = await openDevices(false, deviceId);
      this.replaceCamera(stream.getVideoTracks()[0] ?? null);
      this.state.set({ cameraId: deviceId, error: null, cameraOn: true }); // as in selectMicrophone
      this.applyEnabled();
    } catch (err) {
      this.state.set({ error: describeMediaFailure(classifyMediaError(err), { audio: !!this.current.audio, video: !!this.current.camera }, true) });
    }
  }

  async selectMicrophone(deviceId: string): Promise<void> {
    this.state.set({ microphoneId: deviceId });
    try {
      const stream = await openDevices(deviceId, false);
      this.replaceAudio(stream.getAudioTracks()[0] ?? null);
      // microphoneId again: a refreshDevices() that listed devices while this one opened
      // read the previous track's id and may have set it back (the select showed "default").
      this.state.set({ microphoneId: deviceId, error: null, micOn: true });
      this.applyEnabled();
    } catch (err) {
      this.state.set({ error: describeMediaFailure(classifyMediaError(err), { audio: !!this.current.audio, video: !!this.current.camera }, true) });
    }
  }

  /** Where the others are heard: every remote tile plays on this output (`setSinkId`). */
  selectSpeaker(deviceId: string): void {
    this.state.set({ speakerId: deviceId || null });
  }

  /** Turns the microphone on or off; without a microphone, asks for one first. */
  async setMic(on: boolean): Promise<void> {
    if (on && !this.current.audio) {
      await this.acquire("audio");
      if (!this.current.audio) return;
    }
    this.state.set({ micOn: on });
    this.applyEnabled();
  }

  async setCamera(on: boolean): Promise<void> {
    if (on && !this.current.camera) {
      await this.acquire("video");
      if (!this.current.camera) return;
    }
    this.state.set({ cameraOn: on });
    this.applyEnabled();
  }

  setFilter(filter: VideoFilter): void {
    this.state.set({ filter });
    const camera = this.current.camera;
    if (filter === "none") {
      if (this.pipeline) {
        this.pipeline.stop();
        this.pipeline = null;
        this.publishVideo(camera);
      }
      return;
    }
    if (this.pipeline) {
      this.pipeline.setFilter(filter);
    } else if (camera) {
      this.pipeline = new FilterPipeline(camera, filter);
      this.publishVideo(this.pipeline.output);
    }
  }

  /** Starts a screen share; false when the user cancelled or it failed (the error says why). */
  async startScreenShare(): Promise<boolean> {
    if (this.current.screen) return true;
    try {
      const track = await captureScreen();
      // The browser's own "Stop sharing" button ends the track.
      track.addEventListener("ended", () => {
        if (this.current.screen === track) this.stopScreenShare();
      });
      this.state.set((s) => ({ screen: track, error: null, revision: s.revision + 1 }));
      return true;
    } catch (err) {
      const words = describeScreenFailure(err);
      if (words) this.state.set({ error: words });
      return false;
    }
  }

  stopScreenShare(): void {
    const screen = this.current.screen;
    if (!screen) return;
    screen.stop();
    this.state.set((s) => ({ screen: null, revision: s.revision + 1 }));
  }

  clearError(): void {
    this.state.set({ error: null });
  }

  /** Whether the others should see us as muted / camera off / sharing (`media-state`). */
  mediaState(): { audio: boolean; video: boolean; screen: boolean } {
    const s = this.current;
    return { audio: !!s.audio && s.micOn, video: !!s.camera && s.cameraOn, screen: !!s.screen };
  }

  stop(): void {
    this.stopped = true;
    navigator.mediaDevices?.removeEventListener?.("devicechange", this.onDeviceChange);
    this.pipeline?.stop();
    this.pipeline = null;
    const { audio, camera, screen } = this.current;
    for (const track of [audio, camera, screen]) track?.stop();
    this.state.set((s) => ({ audio: null, camera: null, video: null, screen: null, revision: s.revision + 1 }));
  }

  private async acquire(kind: "audio" | "video"): Promise<void> {
    try {
      const stream = kind === "audio" ? await openDevices(this.current.microphoneId, false) : await openDevices(false, this.current.cameraId);
      if (kind === "audio") this.replaceAudio(stream.getAudioTracks()[0] ?? null);
      else this.replaceCamera(stream.getVideoTracks()[0] ?? null);
      this.state.set({ error: null, denied: false });
      await this.refreshDevices();
    } catch (err) {
      const got = { audio: !!this.current.audio, video: !!this.current.camera };
      const kindOfError = classifyMediaError(err);
      this.state.set({ error: describeMediaFailure(kindOfError, got, true), denied: kindOfError === "denied" });
    }
  }

  private replaceAudio(track: MediaStreamTrack | null): void {
    const old = this.current.audio;
    if (old && old !== track) old.stop();
    this.state.set((s) => ({ audio: track, revision: s.revision + 1 }));
  }

  private replaceCamera(track: MediaStreamTrack | null): void {
    const old = this.current.camera;
    if (old && old !== track) old.stop();
    this.state.set({ camera: track });
    if (track && this.pipeline) {
      this.pipeline.setSource(track);
      this.publishVideo(this.pipeline.output);
    } else if (track && this.current.filter !== "none") {
      this.pipeline = new FilterPipeline(track, this.current.filter);
      this.publishVideo(this.pipeline.output);
    } else {
      if (!track && this.pipeline) {
        this.pipeline.stop();
        this.pipeline = null;
      }
      this.publishVideo(track);
    }
  }

  private publishVideo(track: MediaStreamTrack | null): void {
    this.state.set((s) => ({ video: track, revision: s.revision + 1 }));
    this.applyEnabled();
  }

  private applyEnabled(): void {
    const { audio, camera, video, micOn, cameraOn } = this.current;
    if (audio) audio.enabled = micOn;
    if (camera) camera.enabled = cameraOn;
    if (video) video.enabled = cameraOn;
  }
}
