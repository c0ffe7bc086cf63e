import { useEffect, useMemo, useState } from "preact/hooks";
import type { Meeting } from "../api/types";
import { useSession } from "../app/context";
import { ChatStore } from "../chat/store";
import { Alert } from "../components/Alert";
import { ChatPanel } from "../components/ChatPanel";
import { DeviceSelect } from "../components/DeviceSelect";
import { ToggleButton } from "../components/ToggleButton";
import { useVideoStream } from "../components/VideoTile";
import { TopBar } from "../components/TopBar";
import { formatDateTime } from "../lib/format";
import { useStore } from "../lib/store";
import { useTitle } from "../lib/useTitle";
import type { LocalMedia } from "../media/local";

const CHAT_POLL_MS = 5_000;

interface PreJoinProps {
  meeting: Meeting;
  media: LocalMedia;
  onJoin: (displayName: string) => void;
  joining: boolean;
  error: string | null;
}

/** Camera and microphone check before joining: preview, devices, toggles, display name. */
export function PreJoin({ meeting, media, onJoin, joining, error }: PreJoinProps) {
  useTitle(meeting.title);
  const session = useSession();
  const user = session.user!;
  const m = useStore(media.state);
  const [displayName, setDisplayName] = useState(user.display_name);

  useEffect(() => {
    void media.start();
  }, [media]);

  const preview = useMemo(() => (m.video ? new MediaStream([m.video]) : null), [m.video]);
  const { ref } = useVideoStream(preview, true);

  // The chat of this meeting, readable before the call for those who are already participants.
  const chat = useMemo(() => new ChatStore(session.api, meeting.meeting_id), [meeting.meeting_id]);
  const chatState = useStore(chat.state);
  useEffect(() => {
    chat.setSender(user.user_id, displayName);
  }, [displayName]);
  useEffect(() => {
    void chat.loadHistory();
    // Not in the call yet, so no live messages: read new ones now and then.
    const timer = setInterval(() => {
      if (chat.state.get().allowed) void chat.loadHistory();
    }, CHAT_POLL_MS);
    return () => clearInterval(timer);
  }, [chat]);

  const submit = (event: Event) => {
    event.preventDefault();
    onJoin(displayName.trim() || user.display_name);
  };

  return (
    <div class="page">
      <TopBar userName={user.display_name} />
      <main class="prejoin" id="main">
        <div class="prejoin-heading">
          <h1>{meeting.title}</h1>
          {meeting.scheduled_start && <p class="meeting-when">Scheduled for {formatDateTime(meeting.scheduled_start)}</p>}
        </div>
        <section class="prejoin-preview" aria-label="Preview">
          <div class="preview-frame">
            <video ref={ref} data-testid="preview-video" class={`mirror${m.video && m.cameraOn ? "" : " hidden-video"}`} autoplay playsInline muted aria-label="Your video preview" />
            {(!m.video || !m.cameraOn) && (
              <div class="tile-avatar" aria-hidden="true">
                <span>{m.starting ? "…" : m.video ? "Camera off" : "No camera"}</span>
              </div>
            )}
          </div>
          <div class="preview-controls">
            <ToggleButton label="Microphone" warnWhenOff icon="mic" iconOff="micOff" pressed={!!m.audio && m.micOn} hint={m.audio ? (m.micOn ? "On" : "Off") : "None"} onToggle={() => void media.setMic(!(m.audio && m.micOn))} />
            <ToggleButton label="Camera" warnWhenOff icon="cam" iconOff="camOff" pressed={!!m.camera && m.cameraOn} hint={m.camera ? (m.cameraOn ? "On" : "Off") : "None"} onToggle={() => void media.setCamera(!(m.camera && m.cameraOn))} />
          </div>
        </section>
        <section class="prejoin-form card" aria-label="Join settings">
          {m.error && (
            <Alert tone="warning">
              {m.error}{" "}
              {m.denied && (
                <button type="button" class="button-quiet" onClick={() => void media.start()}>
                  Try again
                </button>
              )}
            </Alert>
          )}
          {error && <Alert>{error}</Alert>}
          <form class="form" onSubmit={submit}>
            <DeviceSelect id="prejoin-camera" label="Camera" devices={m.cameras} value={m.cameraId} onChange={(id) => void media.selectCamera(id)} />
            <DeviceSelect id="prejoin-microphone" label="Microphone" devices={m.microphones} value={m.microphoneId} onChange={(id) => void media.selectMicrophone(id)} />
            <div class="field">
              <label for="prejoin-name">Display name</label>
              <input id="prejoin-name" type="text" maxLength={80} required value={displayName} onInput={(e) => setDisplayName(e.currentTarget.value)} />
            </div>
            <button type="submit" class="button-primary button-wide" disabled={joining || !displayName.trim()}>
              {joining ? "Joining…" : "Join meeting"}
            </button>
            {!m.audio && !m.camera && !m.starting && <p class="field-hint">You will join without camera and microphone; you can turn them on in the meeting.</p>}
          </form>
        </section>
        {chatState.allowed && (
          <div class="prejoin-chat">
            <ChatPanel chat={chat} selfUserId={user.user_id} id="prejoin-chat" title="Meeting chat" />
          </div>
        )}
      </main>
    </div>
  );
}
