/** Asks the browser for a screen, window or tab to share (its own picker). */
export async function captureScreen(): Promise<MediaStreamTrack> {
  if (!navigator.mediaDevices?.getDisplayMedia) {
    throw new DOMException("Screen sharing is not available in this browser", "NotSupportedError");
  }
  const stream = await navigator.mediaDevices.getDisplayMedia({
    video: { frameRate: { ideal: 15, max: 30 } },
    audio: false,
  });
  const track = stream.getVideoTracks()[0];
  if (!track) throw new DOMException("No screen was shared", "NotFoundError");
  track.contentHint = "detail";
  return track;
}

export function describeScreenFailure(err: unknown): string | null {
  const name = err instanceof Error || err instanceof DOMException ? err.name : "";
  if (name === "NotAllowedError" || name === "AbortError") return null; // the user cancelled the picker
  if (name === "NotSupportedError") return "Screen sharing is not available in this browser.";
  return "The screen could not be shared.";
}
