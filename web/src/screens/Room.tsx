import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { User } from "../api/types";
import { isGuest } from "../app/session";
import { Alert } from "../components/Alert";
import { newestSeq, unreadCount } from "../chat/store";
import { ChatPanel } from "../components/ChatPanel";
import { AdmissionSelect } from "../components/AdmissionSelect";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { LobbyPanel } from "../components/LobbyPanel";
import { beepsPlayed } from "../lib/beep";
import { ConnectionStatus } from "../components/ConnectionStatus";
import { ControlBar, MORE_BUTTON_ID } from "../components/ControlBar";
import { CopyLinkButton } from "../components/CopyLinkButton";
import { DevicesPanel } from "../components/DevicesPanel";
import { FilterMenu } from "../components/FilterMenu";
import { Icon, type IconName } from "../components/Icon";
import { NotesPanel } from "../components/NotesPanel";
import { type ParticipantEntry, ParticipantList } from "../components/ParticipantList";
import { ToastRegion } from "../components/ToastRegion";
import { ToggleButton } from "../components/ToggleButton";
import { VideoGrid } from "../components/VideoGrid";
import { useStore } from "../lib/store";
import { useCallState, useCalls } from "../calls/context";
import { PHONE_QUERY, useMediaQuery } from "../lib/useMediaQuery";
import { useTitle } from "../lib/useTitle";
import type { LocalMedia } from "../media/local";
import { Cues } from "../media/cues";
import { recordingWords } from "../room/recording";
import type { RecordingPhase, RoomSession } from "../room/session";
import { rosterChanges, ToastQueue } from "../room/toasts";
import { useSpeaking } from "../room/useSpeaking";
import { REACTIONS } from "../signaling/types";
import { inviteUrl } from "./Home";

/** Our own microphone among the audio sources of `useSpeaking`. */
const SELF = "self";

type PanelName = "chat" | "participants" | "notes" | "devices";
const NO_PANEL: Record<PanelName, boolean> = { chat: false, participants: false, notes: false, devices: false };

function PanelButton({ label, icon, panel, open, toggle, badge }: { label: string; icon: IconName; panel: PanelName; open: boolean; toggle: (p: PanelName) => void; badge?: number }) {
  return (
    <button type="button" class="control" aria-expanded={open ? "true" : "false"} aria-controls={open ? `${panel}-panel` : undefined} onClick={() => toggle(panel)}>
      <Icon name={icon} />
      <span class="control-label">{label}</span>
      {!!badge && (
        <span class="control-badge" aria-hidden="true" data-testid={`${panel}-badge`}>
          {badge}
        </span>
      )}
    </button>
  );
}

/** What the Record button says under its label. */
const RECORDING_HINT: Record<RecordingPhase, string | undefined> = { off: undefined, starting: "Starting…", recording: "Recording", stopping: "Saving…" };

/** The meeting room: video grid, controls, and the chat, participants, notes and devices panels. */
export function Room({ room, media, user }: { room: RoomSession; media: LocalMedia; user: User }) {
  useTitle(room.meeting.title);
  const r = useStore(room.state);
  const calls = useCalls();
  const { escalated } = useCallState();
  // the private room of a direct call, until either of the two makes it a meeting
  const callId = room.meeting.call_id && !escalated.includes(room.meeting.call_id) ? room.meeting.call_id : null;
  const becameMeeting = !!room.meeting.call_id && !callId;
  const [addingPeople, setAddingPeople] = useState(false);
  const [addPeopleError, setAddPeopleError] = useState<string | null>(null);
  const addPeople = async () => {
    setAddingPeople(true);
    setAddPeopleError(null);
    if (callId && !(await calls?.escalate(callId))) setAddPeopleError("More people could not be invited. Please try again.");
    setAddingPeople(false);
  };
  const m = useStore(media.state);
  const chat = useStore(room.chat.state);
  const [open, setOpen] = useState<Record<PanelName, boolean>>(NO_PANEL);
  // unread: others' messages after the history this room started with, not seen in the panel
  const [seenSeq, setSeenSeq] = useState(0);
  const newest = newestSeq(chat.messages);
  // Escape closes the panels and gives the focus back to the control that opened the last one
  const opener = useRef<HTMLElement | null>(null);
  const phone = useMediaQuery(PHONE_QUERY);
  const toggle = (panel: PanelName) => {
    if (!open[panel] && document.activeElement instanceof HTMLElement) opener.current = document.activeElement;
    // a phone shows one panel at a time, as a bottom sheet
    setOpen((o) => (phone ? { ...NO_PANEL, [panel]: !o[panel] } : { ...o, [panel]: !o[panel] }));
    if (panel === "chat") setSeenSeq(newest);
  };
  useEffect(() => {
    if (open.chat) setSeenSeq(newest);
  }, [open.chat, newest]);
  const unread = open.chat ? 0 : unreadCount(chat, user.user_id, seenSeq);

  const localStream = useMemo(() => (m.video ? new MediaStream([m.video]) : null), [m.video]);
  const screenStream = useMemo(() => (m.screen ? new MediaStream([m.screen]) : null), [m.screen]);
  const micOn = !!m.audio && m.micOn;
  const camOn = !!m.camera && m.cameraOn;
  const selfName = room.displayName;

  // Who speaks (their tile is outlined), from audio levels; our own microphone through a clone
  // that stays enabled while muted (analysis only), for "You are muted" when we speak muted.
  const micProbe = useMemo(() => {
    const probe = m.audio?.clone() ?? null;
    if (probe) probe.enabled = true;
    return probe;
  }, [m.audio]);
  useEffect(() => () => micProbe?.stop(), [micProbe]);
  const audioSources = useMemo(() => {
    const sources = new Map<string, MediaStreamTrack>();
    if (micProbe) sources.set(SELF, micProbe);
    for (const p of r.participants) {
      const track = p.camera?.getAudioTracks()[0];
      if (track && p.media?.audio !== false) sources.set(p.sid, track);
    }
    return sources;
  }, [micProbe, r.participants]);
  const speaking = useSpeaking(audioSources);
  const speakingIds = useMemo(() => [...speaking].map((id) => (id === SELF ? (micOn ? (r.selfSid ?? "") : "") : id)), [speaking, micOn, r.selfSid]);
  const speakingMuted = !micOn && speaking.has(SELF);

  const handOrder = r.hands.map((h) => h.sid);
  const handOf = (sid: string | null) => {
    const place = sid ? handOrder.indexOf(sid) : -1;
    return place >= 0 ? place + 1 : undefined;
  };
  const selfHand = handOf(r.selfSid);
  const [confirmingEnd, setConfirmingEnd] = useState(false);
  const [removing, setRemoving] = useState<{ userId: string; name: string } | null>(null);
  const moderator = room.canModerate;
  const [picking, setPicking] = useState(false);

  // Keyboard shortcuts, as Meet has them: Ctrl+D (⌘+D) microphone, Ctrl+E (⌘+E) camera.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape" && (open.chat || open.participants || open.notes || open.devices)) {
        closePanels();
        return;
      }
      if (!(event.ctrlKey || event.metaKey) || event.altKey || event.shiftKey) return;
      const key = event.key.toLowerCase();
      if (key === "d") {
        event.preventDefault();
        void media.setMic(!micOn);
      } else if (key === "e") {
        event.preventDefault();
        void media.setCamera(!camOn);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [micOn, camOn, open]);
  /** Closes every panel; the focus goes back to the control that opened the last one (or to
   * "More", when that control was in its menu, which is closed now). */
  function closePanels() {
    setOpen(NO_PANEL);
    (opener.current?.isConnected ? opener.current : document.getElementById(MORE_BUTTON_ID))?.focus();
  }

  const people: ParticipantEntry[] = [
    {
      key: "self",
      name: selfName,
      self: true,
      host: room.isHost,
      cohost: r.cohostIds.includes(user.user_id),
      audio: micOn,
      video: camOn,
      screen: !!m.screen,
      hand: selfHand,
      lowerHand: selfHand !== undefined ? () => void room.setHand(false) : undefined,
      spotlighted: !!r.selfSid && r.spotlight === r.selfSid,
      setSpotlight: moderator && r.selfSid ? (on: boolean) => void room.setSpotlight(on ? r.selfSid : null) : undefined,
    },
    ...r.participants.map((p) => {
      const host = p.userId === room.meeting.host_id;
      const cohost = !!p.userId && r.cohostIds.includes(p.userId);
      return {
      key: p.sid,
      name: p.displayName,
      self: false,
      host,
      cohost,
      audio: p.media ? p.media.audio : null,
      video: p.media ? p.media.video : p.videoSilent ? false : null,
      screen: !!p.screen,
      hand: handOf(p.sid),
      lowerHand: moderator && handOf(p.sid) !== undefined ? () => void room.lowerHandOf(p.sid) : undefined,
      mute: moderator && p.media?.audio === true ? () => void room.mute(p.sid) : undefined,
      askUnmute: moderator && p.media?.audio === false ? () => void room.askUnmute(p.sid) : undefined,
      // only the host makes co-hosts (not of guests); a co-host removes neither the host nor a co-host
      setCohost: room.isHost && p.userId && !host && !p.userId.startsWith("guest-") ? (on: boolean) => void room.setCohost(p.userId!, on) : undefined,
      spotlighted: r.spotlight === p.sid,
      setSpotlight: moderator ? (on: boolean) => void room.setSpotlight(on ? p.sid : null) : undefined,
      remove: moderator && p.userId && !host && (room.isHost || !cohost) ? () => setRemoving({ userId: p.userId!, name: p.displayName }) : undefined,
      };
    }),
  ];
  const anyPanel = open.chat || open.participants || open.notes || open.devices;

  // Joins and leaves: a toast (polite, never focused) and, unless turned off, a short sound.
  const toasts = useMemo(() => new ToastQueue(), [room]);
  const cues = useMemo(() => new Cues(), [room]);
  useEffect(() => () => (toasts.close(), cues.close()), [toasts, cues]);
  const known = useRef<Map<string, string> | null>(null);
  useEffect(() => {
    if (r.phase !== "in-call") return; // those already there when we joined are no news
    const now = new Map(r.participants.filter((p) => p.userId).map((p) => [p.userId, p.displayName]));
    const before = known.current;
    known.current = now;
    if (!before) return;
    const { joined, left } = rosterChanges(before, now);
    for (const name of joined) toasts.show(`${name} joined`, "joined");
    for (const name of left) toasts.show(`${name} left`, "left");
    if (joined.length || left.length) cues.play(joined.length ? "joined" : "left");
  }, [r.participants, r.phase]);

  return (
    <div class="room">
      <header class="room-header">
        <h1 class="room-title">{room.meeting.title}</h1>
        <ConnectionStatus state={r.connection} wasConnected={r.wasConnected} />
        {r.recordings.length > 0 && (
          <p class="recording-indicator" role="status" data-testid="recording-indicator">
            <span class="recording-dot" aria-hidden="true" />
            {recordingWords(r.recordings.map((rec) => (rec.sid === r.selfSid ? null : rec.display_name)))}
          </p>
        )}
        {callId ? (
          <button type="button" class="button-secondary" disabled={addingPeople} onClick={() => void addPeople()} title="Make this call a meeting that others join by its link">
            Add people
          </button>
        ) : (
          <CopyLinkButton url={inviteUrl(room.meeting)} />
        )}
      </header>
      <div class="room-alerts">
        {r.wasConnected && r.connection !== "connected" && (
          <Alert tone="warning">Connection lost, retrying…{r.connection === "offline" ? " This device is offline; Parley reconnects when the network is back." : ""}</Alert>
        )}
        {r.error && <Alert>{r.error}</Alert>}
        {addPeopleError && <Alert onDismiss={() => setAddPeopleError(null)}>{addPeopleError}</Alert>}
        {becameMeeting && (
          <p class="panel-note" role="status" data-testid="call-became-meeting">
            This call is a meeting now: anyone with its link can join. Copy the link and send it to the people to invite.
          </p>
        )}
        {m.error && (
          <Alert tone="warning" onDismiss={() => media.clearError()}>
            {m.error}
          </Alert>
        )}
        {r.notice && <Alert onDismiss={() => room.dismissNotice()}>{r.notice}</Alert>}
        {moderator && r.lobby.length > 0 && (
          <div class="alert alert-info lobby-alert" role="status" data-testid="lobby-alert" data-beeps={beepsPlayed}>
            <span>{r.lobby.length === 1 ? `${r.lobby[0].display_name} is waiting in the lobby.` : `${r.lobby.length} people are waiting in the lobby.`}</span>
            {!open.participants && (
              <button type="button" class="button-small button-primary" onClick={() => toggle("participants")}>
                Show lobby
              </button>
            )}
          </div>
        )}
        {speakingMuted && (
          <p class="alert alert-warning speaking-muted" role="status" data-testid="speaking-muted">
            You are muted. Turn the microphone on (Ctrl+D) to be heard.
          </p>
        )}
        {r.unmuteAskedBy && (
          <div class="alert alert-warning unmute-request" role="alertdialog" aria-labelledby="unmute-request-text" data-testid="unmute-request">
            <span id="unmute-request-text">{r.unmuteAskedBy} asks you to turn your microphone on.</span>
            <button type="button" class="button-small button-primary" onClick={() => room.answerUnmute(true)}>
              Unmute
            </button>
            <button type="button" class="button-small button-secondary" onClick={() => room.answerUnmute(false)}>
              Not now
            </button>
          </div>
        )}
        {r.recordingUrl && r.recordingName && r.recording === "off" && (
          <p class="recording-ready" role="status">
            Recording saved.{" "}
            <a href={r.recordingUrl} download={r.recordingName}>
              Download {r.recordingName}
            </a>
          </p>
        )}
      </div>
      <main class={`room-main${anyPanel ? " with-panels" : ""}`} id="main">
        <ToastRegion queue={toasts} />
        <VideoGrid
          local={{ sid: r.selfSid ?? "", userId: user.user_id, name: selfName, stream: localStream, screen: screenStream, audioMuted: !micOn, videoMuted: !camOn }}
          remotes={r.participants}
          gestures={{ hands: handOrder, reactions: r.reactions, speaking: speakingIds }}
          sinkId={m.speakerId}
          spotlight={r.spotlight}
        />
        {anyPanel && (
          <aside class={`side-panels${phone ? " panel-sheet" : ""}`} aria-label="Meeting panels">
            {phone && (
              <button type="button" class="sheet-close button-quiet" onClick={closePanels}>
                <Icon name="close" />
                <span class="visually-hidden">Close {(Object.keys(open) as PanelName[]).find((p) => open[p])}</span>
              </button>
            )}
            {open.chat && <ChatPanel chat={room.chat} selfUserId={user.user_id} />}
            {open.participants && (
              <ParticipantList people={people} muteAll={moderator && r.participants.length > 0 ? () => void room.mute(null) : undefined}>
                {moderator && !callId && (
                  <>
                    <AdmissionSelect id="room-admission" value={r.admission} onChange={(admission) => room.setAdmission(admission)} />
                    {(r.admission === "lobby" || r.lobby.length > 0) && (
                      <LobbyPanel waiting={r.lobby} admit={(userId) => void room.admit(userId)} deny={(userId) => void room.deny(userId)} />
                    )}
                  </>
                )}
              </ParticipantList>
            )}
            {open.notes && <NotesPanel notes={room.notes} />}
            {open.devices && <DevicesPanel media={media} />}
          </aside>
        )}
      </main>
      <ControlBar
        phone={phone}
        devices={
          <>
            <ToggleButton label="Microphone" warnWhenOff icon="mic" iconOff="micOff" pressed={micOn} hint={micOn ? "On" : "Off"} shortcut="Control+D" onToggle={() => void media.setMic(!micOn)} />
            <ToggleButton label="Camera" warnWhenOff icon="cam" iconOff="camOff" pressed={camOn} hint={camOn ? "On" : "Off"} shortcut="Control+E" onToggle={() => void media.setCamera(!camOn)} />
          </>
        }
        actions={
          <>
            <ToggleButton label="Share screen" icon="screen" pressed={!!m.screen} onToggle={() => (m.screen ? media.stopScreenShare() : void media.startScreenShare())} />
            <ToggleButton
              label="Raise hand"
              icon="hand"
              pressed={selfHand !== undefined}
              hint={selfHand !== undefined ? `Raised (${selfHand})` : undefined}
              onToggle={() => void room.setHand(selfHand === undefined)}
            />
            <div class="reaction-picker">
              <button type="button" class="control" data-keeps-menu aria-expanded={picking ? "true" : "false"} aria-controls="reaction-menu" onClick={() => setPicking(!picking)}>
                <Icon name="smile" />
                <span class="control-label">React</span>
              </button>
              {picking && (
                <div class="reaction-menu" id="reaction-menu" role="group" aria-label="Reactions">
                  {REACTIONS.map((emoji) => (
                    <button
                      type="button"
                      key={emoji}
                      class="reaction-choice"
                      aria-label={`React ${emoji}`}
                      onClick={() => {
                        setPicking(false);
                        void room.react(emoji);
                      }}
                    >
                      {emoji}
                    </button>
                  ))}
                </div>
              )}
            </div>
            <ToggleButton
              label="Record"
              icon="record"
              pressed={r.recording === "recording"}
              danger
              disabled={r.recording === "stopping"}
              hint={RECORDING_HINT[r.recording]}
              onToggle={() => (r.recording === "off" ? room.startRecording() : void room.stopRecording())}
            />
            <FilterMenu value={m.filter} onChange={(filter) => media.setFilter(filter)} />
          </>
        }
        chat={<PanelButton label="Chat" icon="chat" panel="chat" open={open.chat} toggle={toggle} badge={unread} />}
        panels={
          <>
            <PanelButton label="Participants" icon="people" panel="participants" open={open.participants} toggle={toggle} />
            {!isGuest(user) && <PanelButton label="Notes" icon="notes" panel="notes" open={open.notes} toggle={toggle} />}
            <PanelButton label="Devices" icon="settings" panel="devices" open={open.devices} toggle={toggle} />
          </>
        }
        leave={
          <button type="button" class="control control-leave" onClick={() => void room.leave()}>
            <Icon name="leave" />
            <span class="control-label">Leave</span>
          </button>
        }
        end={
          callId ? (
            <button type="button" class="control control-end" onClick={() => void (calls ? calls.hangUp(callId) : room.endForEveryone())}>
              <Icon name="end" />
              <span class="control-label">Hang up</span>
            </button>
          ) : (
            room.isHost && (
              <button type="button" class="control control-end" aria-haspopup="dialog" onClick={() => setConfirmingEnd(true)}>
                <Icon name="end" />
                <span class="control-label">End meeting for everyone</span>
              </button>
            )
          )
        }
      />
      {moderator && (
        <ConfirmDialog
          open={!!removing}
          title={`Remove ${removing?.name ?? ""}?`}
          message="They leave the call now and cannot join this meeting again."
          confirmLabel="Remove"
          onCancel={() => setRemoving(null)}
          onConfirm={() => {
            const target = removing;
            setRemoving(null);
            if (target) void room.remove(target.userId);
          }}
        />
      )}
      {room.isHost && (
        <ConfirmDialog
          open={confirmingEnd}
          title="End the meeting for everyone?"
          message="Everyone in the call is disconnected and nobody can join it again. The chat stays readable."
          confirmLabel="End for everyone"
          onCancel={() => setConfirmingEnd(false)}
          onConfirm={() => {
            setConfirmingEnd(false);
            void room.endForEveryone();
          }}
        />
      )}
    </div>
  );
}
