// Recording the meeting (docs/web-client.md, "Recording"): what the recorder sees, drawn to a
// canvas (../media/composite), with everyone's audio mixed (../media/mixer), to WebM
// (../media/recorder). Participants who join or leave during the recording are drawn and
// mixed from the next update on.

import { type CompositeTile, MeetingCanvas } from "../media/composite";
import { AudioMix } from "../media/mixer";
import { Recording, type RecordingEvents } from "../media/recorder";
import type { RemoteParticipant } from "../rtc/mesh";

/** What the recorder sees and hears: itself and the others. */
export interface RecordedRoom {
  self: {
    sid: string;
    name: string;
    /** What the others receive for our camera (filtered), null when none. */
    video: MediaStreamTrack | null;
    cameraOn: boolean;
    screen: MediaStreamTrack | null;
    audio: MediaStreamTrack | null;
    micOn: boolean;
  };
  participants: RemoteParticipant[];
}

/** The tiles, in the grid's order: ours, our screen, the others' cameras, their screens. */
export function compositeTiles({ self, participants }: RecordedRoom): CompositeTile[] {
  const tiles: CompositeTile[] = [{ key: "self", name: self.name, stream: self.video ? new MediaStream([self.video]) : null, screen: false, videoOn: !!self.video && self.cameraOn }];
  if (self.screen) tiles.push({ key: "self-screen", name: self.name, stream: new MediaStream([self.screen]), screen: true, videoOn: true });
  for (const p of participants) {
    tiles.push({ key: p.sid, name: p.displayName, stream: p.camera, screen: false, videoOn: p.media ? p.media.video : !p.videoSilent });
  }
  for (const p of participants) {
    if (p.screen) tiles.push({ key: `${p.sid}-screen`, name: p.displayName, stream: p.screen, screen: true, videoOn: true });
  }
  return tiles;
}

/** The audio to mix, by participant: our microphone while it is on, and each other's. */
export function audioTracks({ self, participants }: RecordedRoom): Map<string, MediaStreamTrack> {
  const tracks = new Map<string, MediaStreamTrack>();
  if (self.audio && self.micOn) tracks.set("self", self.audio);
  for (const p of participants) {
    const track = p.camera?.getAudioTracks()[0];
    if (track) tracks.set(p.sid, track);
  }
  return tracks;
}

/** Who records, in words ("Ada is recording", "You and Ada are recording"): `null` is us. */
export function recordingWords(names: (string | null)[]): string {
  const others = names.filter((n): n is string => n !== null);
  const who = names.includes(null) ? ["You", ...others] : others;
  const list = who.length <= 1 ? who.join("") : `${who.slice(0, -1).join(", ")} and ${who[who.length - 1]}`;
  return `${list} ${who.length === 1 && who[0] !== "You" ? "is" : "are"} recording`;
}

/** One recording of the meeting. */
export class MeetingRecorder {
  private readonly canvas: MeetingCanvas;
  private readonly mix: AudioMix;
  private readonly recording: Recording;

  constructor(room: RecordedRoom, events: RecordingEvents) {
    this.canvas = new MeetingCanvas();
    try {
      this.mix = new AudioMix();
    } catch (err) {
      this.canvas.close();
      throw err;
    }
    this.update(room);
    try {
      this.recording = new Recording(new MediaStream([...this.canvas.stream.getVideoTracks(), this.mix.track]), events);
    } catch (err) {
      this.release();
      throw err;
    }
  }

  get startedAt(): Date {
    return this.recording.startedAt;
  }

  /** Who is in the room now (joined, left, a camera or screen changed). */
  update(room: RecordedRoom): void {
    this.canvas.setTiles(compositeTiles(room));
    this.mix.setTracks(audioTracks(room));
  }

  /** Stops; the whole recording. */
  async stop(): Promise<Blob> {
    try {
      return await this.recording.stop();
    } finally {
      this.release();
    }
  }

  private release(): void {
    this.canvas.close();
    this.mix.close();
  }
}
