// Every participant's audio mixed into one track with Web Audio, for the recording.

/**
 * Mixes audio tracks (the local microphone, each remote stream) into `track`. `setTracks`
 * follows participants who join or leave and tracks that change. A muted microphone
 * (`enabled` false) is silence in the mix, as the others hear it.
 */
export class AudioMix {
  private readonly context: AudioContext;
  private readonly destination: MediaStreamAudioDestinationNode;
  private readonly sources = new Map<string, { track: MediaStreamTrack; node: MediaStreamAudioSourceNode }>();

  constructor(create: () => AudioContext = () => new AudioContext()) {
    this.context = create();
    this.destination = this.context.createMediaStreamDestination();
    // started from a click, it runs; if not, resume (a suspended context records silence)
    if (this.context.state === "suspended") void this.context.resume().catch(() => undefined);
  }

  /** The mix. */
  get track(): MediaStreamTrack {
    return this.destination.stream.getAudioTracks()[0];
  }

  /** The sources now, by a stable key (participant id). */
  setTracks(tracks: Map<string, MediaStreamTrack>): void {
    for (const [key, source] of this.sources) {
      if (tracks.get(key) === source.track) continue;
      source.node.disconnect();
      this.sources.delete(key);
    }
    for (const [key, track] of tracks) {
      if (this.sources.has(key) || track.readyState === "ended") continue;
      const node = this.context.createMediaStreamSource(new MediaStream([track]));
      node.connect(this.destination);
      this.sources.set(key, { track, node });
    }
  }

  /** The keys mixed now. */
  get keys(): string[] {
    return [...this.sources.keys()];
  }

  close(): void {
    for (const { node } of this.sources.values()) node.disconnect();
    this.sources.clear();
    void this.context.close().catch(() => undefined);
  }
}
