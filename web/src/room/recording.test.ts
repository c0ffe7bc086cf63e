import { describe, expect, it } from "vitest";
import type { RemoteParticipant } from "../rtc/mesh";
import { audioTracks, compositeTiles, recordingWords } from "./recording";

const track = (id: string) => ({ id, kind: "audio" }) as unknown as MediaStreamTrack;
const stream = (audio: MediaStreamTrack | null) => ({ getAudioTracks: () => (audio ? [audio] : []), getVideoTracks: () => [] }) as unknown as MediaStream;
const participant = (sid: string, over: Partial<RemoteParticipant> = {}): RemoteParticipant => ({
  sid,
  userId: `user-${sid}`,
  displayName: `Name ${sid}`,
  media: { audio: true, video: true, screen: false },
  camera: stream(track(`mic-${sid}`)),
  screen: null,
  audioSilent: false,
  videoSilent: false,
  connectionState: "connected",
  ...over,
});
const self = { sid: "s1", name: "Me", video: null, cameraOn: false, screen: null, audio: track("mine"), micOn: true };

describe("the recorded room", () => {
  it("draws everyone in the grid's order, their screens last, a camera off as off", () => {
    const shared = stream(null);
    const tiles = compositeTiles({ self, participants: [participant("a", { screen: shared }), participant("b", { media: { audio: true, video: false, screen: false } })] });
    expect(tiles.map((t) => [t.key, t.name, t.screen, t.videoOn])).toEqual([
      ["self", "Me", false, false],
      ["a", "Name a", false, true],
      ["b", "Name b", false, false],
      ["a-screen", "Name a", true, true],
    ]);
    expect(tiles[3].stream).toBe(shared);
  });

  it("mixes each other's audio, and ours only while the microphone is on", () => {
    const room = { self, participants: [participant("a"), participant("b", { camera: null })] };
    expect([...audioTracks(room).keys()]).toEqual(["self", "a"]);
    expect([...audioTracks({ ...room, self: { ...self, micOn: false } }).keys()]).toEqual(["a"]);
  });

  it("says who records", () => {
    expect(recordingWords(["Rita"])).toBe("Rita is recording");
    expect(recordingWords([null])).toBe("You are recording");
    expect(recordingWords(["Rita", null, "Bo"])).toBe("You, Rita and Bo are recording");
  });
});
