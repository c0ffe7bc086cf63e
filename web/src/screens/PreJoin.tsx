import { useEffect, useMemo, useState } from "preact/hooks";
import type { Meeting } from "../api/types";
import { useSession } from "../app/context";
import { linkClick } from "../app/router";
import { AdmissionSelect } from "../components/AdmissionSelect";
import { AllowGuestsSwitch } from "../components/AllowGuestsSwitch";
import { ChatStore } from "../chat/store";
import { Alert } from "../components/Alert";
import { ChatPanel } from "../components/ChatPanel";
import { DeviceSelect } from "../components/DeviceSelect";
import { MicLevel } from "../components/MicLevel";
import { ToggleButton } from "../components/ToggleButton";
import { useVideoStream } from "../components/VideoTile";
import { TopBar } from "../components/TopBar";
import { formatDateTime, formatTime } from "../lib/format";
import { ApiError } from "../api";
import { ScheduleFields, type ScheduleValue } from "../components/ScheduleFields";
import { describeSchedule, downloadCalendarFile, isoToWallTime, joinLead, notOpenYet, wallTimeToIso } from "../lib/schedule";
import { useStore } from "../lib/store";
import { useTitle } from "../lib/useTitle";
import type { LocalMedia } from "../media/local";

const CHAT_POLL_MS = 5_000;
/** How often the page reads the meeting again (a reschedule or a cancellation shows). */
const MEETING_POLL_MS = 20_000;

interface PreJoinProps {
  meeting: Meeting;
  media: LocalMedia;
  onJoin: (displayName: string) => void;
  /** The name to start with: the one chosen before (Rejoin), else the account's. */
  initialName?: string;
  /** Nobody is signed in: join as a guest, with the name typed here. */
  guest?: boolean;
  joining: boolean;
  error: string | null;
  /** The meeting as read again, or as the host changed it (ended: it was cancelled). */
  onMeetingChanged: (meeting: Meeting) => void;
}

/** Camera and microphone check before joining: preview, devices, toggles, display name. */
/** Who a guest is before it has a token: nobody yet. */
const NOBODY = { user_id: "", email: "", display_name: "" };

export function PreJoin({ meeting, media, onJoin, initialName, guest = false, joining, error, onMeetingChanged }: PreJoinProps) {
  useTitle(meeting.title);
  const session = useSession();
  const user = (guest ? null : session.user) ?? NOBODY;
  const isHost = !guest && meeting.host_id === user.user_id;
  const [now, setNow] = useState(Date.now());
  const waiting = notOpenYet(meeting, user.user_id, now);
  useEffect(() => {
    // Until it opens, look again every few seconds (and when it is due).
    if (!waiting) return;
    const timer = setInterval(() => setNow(Date.now()), 5_000);
    return () => clearInterval(timer);
  }, [waiting]);
  useEffect(() => {
    if (guest) return; // a guest (no token yet) may not read the meeting
    const timer = setInterval(() => {
      session.api.meetings.get(meeting.meeting_id).then(
        (fresh) => {
          if (fresh.status !== meeting.status || fresh.scheduled_start !== meeting.scheduled_start || fresh.opens_at !== meeting.opens_at) onMeetingChanged(fresh);
        },
        () => undefined,
      );
    }, MEETING_POLL_MS);
    return () => clearInterval(timer);
  }, [meeting]);
  const m = useStore(media.state);
  const [displayName, setDisplayName] = useState(initialName ?? user.display_name);
  // who is in the call already (participants may read the roster; a guest has no token yet).
  // Someone who is not a participant yet (a meeting with a lobby, or locked) gets 403: asked
  // once, not every 5 s; an admission takes them into the room, not back here.
  const [inCall, setInCall] = useState<string[] | null>(null);
  useEffect(() => {
    if (guest) return;
    const read = () =>
      session.api.meetings.roster(meeting.meeting_id).then(
        (roster) => setInCall([...new Map(roster.participants.map((p) => [p.user_id, p.user_id === user.user_id ? `${p.display_name} (you, elsewhere)` : p.display_name])).values()]),
        (err) => {
          if (err instanceof ApiError && err.status === 403) clearInterval(timer);
        },
      );
    const timer = setInterval(read, CHAT_POLL_MS);
    void read();
    return () => clearInterval(timer);
  }, [meeting.meeting_id]);

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
    if (guest) return; // a guest reads the chat once in the call
    void chat.loadHistory();
    // Not in the call yet, so no live messages: read new ones now and then.
    const timer = setInterval(() => {
      if (chat.state.get().allowed) void chat.loadHistory();
    }, CHAT_POLL_MS);
    return () => clearInterval(timer);
  }, [chat]);

  const submit = (event: Event) => {
    event.preventDefault();
    if (waiting) return;
    if (guest && !displayName.trim()) return;
    onJoin(displayName.trim() || user.display_name);
  };

  return (
    <div class="page">
      <TopBar userName={user.display_name} />
      <main class="prejoin" id="main">
        <div class="prejoin-heading">
          <h1>{meeting.title}</h1>
          {meeting.scheduled_start && (
            <p class="meeting-when" data-testid="meeting-schedule">
              Scheduled for {describeSchedule(meeting)}
            </p>
          )}
          {meeting.scheduled_start && !guest && <ScheduleActions meeting={meeting} isHost={isHost} onChanged={onMeetingChanged} />}
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
          {waiting && meeting.opens_at && (
            <p class="notice" role="status" data-testid="not-open-yet">
              This meeting opens at {formatDateTime(meeting.opens_at)}, {joinLead(meeting)} before it starts. You can check your camera and microphone meanwhile.
            </p>
          )}
          <form class="form" onSubmit={submit}>
            <DeviceSelect id="prejoin-camera" label="Camera" devices={m.cameras} value={m.cameraId} onChange={(id) => void media.selectCamera(id)} />
            <DeviceSelect id="prejoin-microphone" label="Microphone" devices={m.microphones} value={m.microphoneId} onChange={(id) => void media.selectMicrophone(id)} />
            <MicLevel track={m.audio} />
            {m.speakers.length > 0 && <DeviceSelect id="prejoin-speaker" label="Speaker" devices={m.speakers} value={m.speakerId ?? m.speakers[0].deviceId} onChange={(id) => media.selectSpeaker(id)} />}
            <div class="field">
              <label for="prejoin-name">Display name</label>
              <input id="prejoin-name" type="text" maxLength={80} required autoComplete={guest ? "name" : undefined} aria-describedby={guest || !displayName.trim() ? "prejoin-name-hint" : undefined} value={displayName} onInput={(e) => setDisplayName(e.currentTarget.value)} />
              {/* why the button below is disabled while the name is blank */}
              {!displayName.trim() ? (
                <p class="field-hint" id="prejoin-name-hint">
                  Enter a name to join: others in the meeting will see it.
                </p>
              ) : (
                guest && (
                  <p class="field-hint" id="prejoin-name-hint">
                    Others in the meeting will see this name.
                  </p>
                )
              )}
            </div>
            <div class="prejoin-join-bar">
              <button
                type="submit"
                class="button-primary button-wide prejoin-join"
                disabled={joining || waiting || !displayName.trim()}
              >
                {joining
                  ? "Joining…"
                  : waiting && meeting.opens_at
                    ? `Opens at ${formatTime(meeting.opens_at)}`
                    : meeting.admission === "lobby" && !isHost
                      ? "Ask to join"
                      : guest
                        ? "Join as a guest"
                        : "Join meeting"}
              </button>
            </div>
            {guest && (
              <p class="guest-signin">
                Have an account?{" "}
                <a href={`/signin?next=${encodeURIComponent(`/m/${meeting.meeting_id}`)}`} onClick={linkClick}>
                  Sign in
                </a>
              </p>
            )}
            {!m.audio && !m.camera && !m.starting && <p class="field-hint">You will join without camera and microphone; you can turn them on in the meeting.</p>}
          </form>
          {meeting.admission === "lobby" && !isHost && (
            <p class="notice" data-testid="lobby-notice">
              The host lets people in: you wait in the lobby until they admit you.
            </p>
          )}
          {inCall && (
            <div class="prejoin-roster" data-testid="prejoin-roster">
              <h2 class="field-label" id="prejoin-roster-heading">
                {inCall.length ? "In the call" : "Nobody is in the call yet"}
              </h2>
              {inCall.length > 0 && (
                <ul aria-labelledby="prejoin-roster-heading">
                  {inCall.map((name) => (
                    <li key={name}>{name}</li>
                  ))}
                </ul>
              )}
            </div>
          )}
          {isHost && meeting.status === "active" && <GuestsSetting meeting={meeting} onChanged={onMeetingChanged} />}
          {isHost && meeting.status === "active" && (
            <AdmissionSelect
              id="prejoin-admission"
              value={meeting.admission ?? "open"}
              onChange={async (admission) => onMeetingChanged(await session.api.meetings.update(meeting.meeting_id, { admission }))}
            />
          )}
        </section>
        {!guest && chatState.allowed && (
          <div class="prejoin-chat">
            <ChatPanel chat={chat} selfUserId={user.user_id} id="prejoin-chat" title="Meeting chat" />
          </div>
        )}
      </main>
    </div>
  );
}

/** "Add to calendar" for everyone; "Reschedule" and "Cancel meeting" for its host. */
function ScheduleActions({ meeting, isHost, onChanged }: { meeting: Meeting; isHost: boolean; onChanged: (meeting: Meeting) => void }) {
  const api = useSession().api;
  const zone = meeting.time_zone ?? "UTC";
  const [editing, setEditing] = useState<ScheduleValue | null>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  const download = async () => {
    setProblem(null);
    try {
      downloadCalendarFile(await api.meetings.invitation(meeting.meeting_id), `${meeting.title.slice(0, 60) || "meeting"}.ics`);
    } catch {
      setProblem("The calendar file could not be downloaded. Please try again.");
    }
  };
  const save = async (event: Event) => {
    event.preventDefault();
    if (!editing) return;
    const start = wallTimeToIso(editing.when, editing.timeZone);
    if (!start) return setProblem("Choose the new date and time.");
    if (Date.parse(start) < Date.now()) return setProblem("That time has passed. Choose a time in the future.");
    setBusy(true);
    setProblem(null);
    try {
      onChanged(await api.meetings.reschedule(meeting.meeting_id, { scheduled_start: start, duration_minutes: editing.duration, time_zone: editing.timeZone }));
      setEditing(null);
    } catch (err) {
      setProblem(err instanceof ApiError && err.status === 422 ? "That time has passed. Choose a time in the future." : "The meeting could not be rescheduled. Please try again.");
    } finally {
      setBusy(false);
    }
  };
  const cancel = async () => {
    if (!window.confirm(`Cancel “${meeting.title}” for everyone? Its chat stays readable.`)) return;
    setBusy(true);
    setProblem(null);
    try {
      onChanged(await api.meetings.cancel(meeting.meeting_id));
    } catch {
      setProblem("The meeting could not be cancelled. Please try again.");
      setBusy(false);
    }
  };

  return (
    <div class="schedule-actions">
      <div class="actions">
        <button type="button" class="button-secondary" onClick={download}>
          Add to calendar
        </button>
        {isHost && !editing && (
          <button
            type="button"
            class="button-quiet"
            onClick={() => setEditing({ when: isoToWallTime(meeting.scheduled_start, zone), duration: meeting.duration_minutes ?? 60, timeZone: zone })}
          >
            Reschedule
          </button>
        )}
        {isHost && (
          <button type="button" class="button-quiet button-danger" onClick={cancel} disabled={busy}>
            Cancel meeting
          </button>
        )}
      </div>
      {editing && (
        <form class="form card reschedule-form" onSubmit={save} aria-label="Reschedule">
          <ScheduleFields idPrefix="reschedule" value={editing} onChange={setEditing} />
          <div class="actions">
            <button type="submit" class="button-primary" disabled={busy}>
              {busy ? "Saving…" : "Save new time"}
            </button>
            <button type="button" class="button-quiet" onClick={() => setEditing(null)} disabled={busy}>
              Keep the current time
            </button>
          </div>
        </form>
      )}
      {problem && <Alert onDismiss={() => setProblem(null)}>{problem}</Alert>}
    </div>
  );
}

/** The host's "Allow guests" switch (`PATCH /api/meetings/{id}`). */
function GuestsSetting({ meeting, onChanged }: { meeting: Meeting; onChanged: (meeting: Meeting) => void }) {
  const api = useSession().api;
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState(false);
  const change = async (on: boolean) => {
    setBusy(true);
    setFailed(false);
    try {
      onChanged(await api.meetings.update(meeting.meeting_id, { allow_guests: on }));
    } catch {
      setFailed(true);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="prejoin-guests">
      <AllowGuestsSwitch id="prejoin-allow-guests" checked={!!meeting.allow_guests} disabled={busy} onChange={(on) => void change(on)} />
      {failed && <Alert>The setting could not be changed. Try again.</Alert>}
    </div>
  );
}
