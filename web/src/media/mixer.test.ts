import { afterEach, describe, expect, it, vi } from "vitest";
import { AudioMix } from "./mixer";

const track = (id: string, readyState = "live") => ({ id, kind: "audio", readyState }) as unknown as MediaStreamTrack;

function fakeContext() {
  const nodes: Array<{ id: string; connected: boolean }> = [];
  const destination = { stream: { getAudioTracks: () => [track("mix")] } };
  const context = {
    state: "running",
    createMediaStreamDestination: () => destination,
    createMediaStreamSource: (stream: { tracks: MediaStreamTrack[] }) => {
      const node = { id: stream.tracks[0].id, connected: false, connect: (to: unknown) => (node.connected = to === destination), disconnect: () => (node.connected = false) };
      nodes.push(node);
      return node;
    },
    close: async () => undefined,
  };
  return { context: context as unknown as AudioContext, nodes };
}

afterEach(() => vi.unstubAllGlobals());

describe("AudioMix", () => {
  it("mixes who is there now: a newcomer is added, a leaver and a replaced track removed", () => {
    vi.stubGlobal("MediaStream", class { constructor(readonly tracks: MediaStreamTrack[]) {} });
    const { context, nodes } = fakeContext();
    const mix = new AudioMix(() => context);
    expect(mix.track.id).toBe("mix");
    const a = track("a");
    mix.setTracks(new Map([["self", track("mine")], ["p-a", a]]));
    expect(mix.keys).toEqual(["self", "p-a"]);
    mix.setTracks(new Map([["p-a", a], ["p-b", track("b")], ["p-gone", track("x", "ended")]]));
    expect(mix.keys).toEqual(["p-a", "p-b"]);
    expect(nodes.map((n) => [n.id, n.connected])).toEqual([["mine", false], ["a", true], ["b", true]]);
    mix.setTracks(new Map([["p-a", track("a2")]])); // a new microphone
    expect(nodes.filter((n) => n.connected).map((n) => n.id)).toEqual(["a2"]);
    mix.close();
    expect(nodes.some((n) => n.connected)).toBe(false);
  });
});
