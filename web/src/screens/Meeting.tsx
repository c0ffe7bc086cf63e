import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "../api";
import type { Meeting as MeetingInfo, PublicMeeting, Role } from "../api/types";
import { useSession } from "../app/context";
import { useCalls } from "../calls/context";
import { linkClick, navigate } from "../app/router";
import { Alert } from "../components/Alert";
import { LocalMedia } from "../media/local";
import { LobbyWait } from "../room/lobbyWait";
import { forgetRejoin, guestPassOf, readGuestPass, readRejoin, saveGuestPass, type RejoinState } from "../room/rejoin";
import { RoomSession } from "../room/session";
import { useTitle } from "../lib/useTitle";
import { Ended } from "./Ended";
import { PreJoin } from "./PreJoin";
import { Room } from "./Room";

type Stage =
  | { name: "loading" }
  | { name: "rejoining"; call: boolean }
  | { name: "not-found" }
  | { name: "error"; message: string }
  | { name: "prejoin"; meeting: MeetingInfo }
  | { name: "room"; room: RoomSession }
  | { name: "ended"; meeting: MeetingInfo }
  | { name: "left" | "moved"; meeting: MeetingInfo }
  | { name: "waiting"; meeting: MeetingInfo; wait: LobbyWait; displayName: string }
  | { name: "denied" }
  | { name: "removed"; by: string | null };

/** What the pre-join shows a guest before it has a token: the public view as a meeting. */
function asMeeting(info: PublicMeeting): MeetingInfo {
  return {
    meeting_id: info.meeting_id,
    title: info.title,
    host_id: "",
    scheduled_start: info.scheduled_start ?? null,
    duration_minutes: info.duration_minutes ?? null,
    time_zone: info.time_zone ?? null,
    opens_at: info.opens_at ?? null,
    status: info.status,
    end_reason: null,
    created_at: "",
    ended_at: null,
    invite_url: "",
    allow_guests: info.allow_guests,
    admission: info.admission,
  };
}

/** The invite link `/m/{id}`: pre-join → room → ended (or left). With `guest` (nobody is
 * signed in), the pre-join asks for a name and joins as a guest when the meeting allows
 * guests (docs/http-api.md, "Guests"); otherwise it sends to sign-in. */
export function Meeting({ meetingId, guest = false }: { meetingId: string; guest?: boolean }) {
  const session = useSession();
  const api = session.api;
  const user = session.user;
  const calls = useCalls();
  const [stage, setStage] = useState<Stage>({ name: "loading" });
  const [joinError, setJoinError] = useState<string | null>(null);
  const [joining, setJoining] = useState(false);
  // the name chosen on the pre-join: kept for Rejoin
  const [chosenName, setChosenName] = useState<string | undefined>(undefined);
  // One LocalMedia for the pre-join preview and the room (no second permission prompt); a
  // new one after leaving, for rejoining.
  const [media, setMedia] = useState(() => new LocalMedia());
  useEffect(() => () => media.stop(), [media]);

  /** A guest pass the server no longer takes is forgotten (true): the next join is a new guest. */
  const forgetRefusedPass = (err: unknown): boolean => {
    if (!guest || !(err instanceof ApiError) || err.code !== "not_signed_in") return false;
    forgetRejoin(meetingId);
    return true;
  };

  const loadAsGuest = async () => {
    const info = await api.meetings.publicInfo(meetingId);
    if (!info.allow_guests) return navigate(`/signin?next=${encodeURIComponent(`/m/${meetingId}`)}`, { replace: true });
    if (info.status === "ended") return setStage({ name: "ended", meeting: asMeeting(info) });
    // this tab's guest before a reload (room/rejoin.ts): the same guest again, straight back
    // in the call if it was in it
    const pass = readGuestPass(meetingId);
    if (pass) {
      session.resumeGuest(meetingId, pass);
      setChosenName(pass.displayName);
      const rejoin = readRejoin(meetingId);
      const joined = rejoin
        ? await api.meetings.join(meetingId).catch((err) => {
            forgetRefusedPass(err);
            return null;
          })
        : null;
      if (rejoin && joined && joined.status !== "waiting" && (await rejoinMedia(rejoin, false))) {
        return startRoom(joined.meeting, joined.role, rejoin.displayName);
      }
    }
    setStage({ name: "prejoin", meeting: asMeeting(info) });
  };

  const load = async () => {
    setStage({ name: "loading" });
    try {
      if (guest) return await loadAsGuest();
      const meeting = await api.meetings.get(meetingId);
      if (meeting.status === "ended") return setStage({ name: "ended", meeting });
      // Holding the invite link makes one a participant: the meeting then shows in one's
      // list, and its chat is readable before the call. Joining the call is still a click away,
      // unless this tab was in the call before a reload, or this is the room of the user's
      // accepted direct call (they answered already): then it joins directly.
      // In a lobby or locked meeting, opening the link asks nothing of the host: only a
      // participant already (the host, a co-host, someone admitted before) goes on directly.
      const openToUs = (meeting.admission ?? "open") === "open" || meeting.host_id === user?.user_id;
      let joined: { meeting: MeetingInfo; role: Role } | null = null;
      try {
        const answer = openToUs ? await api.meetings.join(meetingId) : { meeting, role: (await api.meetings.membership(meetingId)).role };
        joined = "status" in answer && answer.status === "waiting" ? null : answer;
      } catch (err) {
        if (err instanceof ApiError && err.code === "removed_from_meeting") return setStage({ name: "removed", by: null });
      }
      const call = calls?.state.get().active?.room_id === meetingId;
      const direct = joined ? (readRejoin(meetingId) ?? (call && user ? { micOn: true, cameraOn: true, displayName: user.display_name } : null)) : null;
      if (joined && direct && (await rejoinMedia(direct, call))) return startRoom(joined.meeting, joined.role, direct.displayName);
      setStage({ name: "prejoin", meeting });
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) setStage({ name: "not-found" });
      else if (err instanceof ApiError && err.code === "not_signed_in") return;
      else setStage({ name: "error", message: "The meeting could not be loaded. Check your connection and try again." });
    }
  };
  useEffect(() => {
    void load();
  }, [meetingId]);

  // The room lives as long as this stage; closing it leaves the call.
  const room = stage.name === "room" ? stage.room : null;
  useEffect(() => {
    if (!room) return;
    const detachCalls = calls?.attach(room.signaling); // a call rings in a meeting too
    const unsubscribe = room.state.subscribe((s) => {
      if (s.phase === "ended") {
        media.stop();
        setStage({ name: "ended", meeting: { ...room.meeting, status: "ended" } });
      } else if (s.phase === "removed") {
        media.stop();
        setStage({ name: "removed", by: s.removedBy });
      } else if (s.phase === "left" || s.phase === "moved") {
        media.stop();
        setStage({ name: s.phase, meeting: room.meeting });
      } else if (s.phase === "failed") {
        media.stop();
        setStage({ name: "error", message: s.error ?? "The meeting could not be joined." });
      }
    });
    window.parleyDebug = {
      room,
      dropConnection: () => room.dropConnection(),
      state: () => room.state.get(),
      stats: () => room.mesh.stats(),
    };
    return () => {
      detachCalls?.();
      unsubscribe();
      room.close();
      if (window.parleyDebug?.room === room) delete window.parleyDebug;
    };
  }, [room]);

  const join = async (displayName: string) => {
    if (stage.name !== "prejoin") return;
    setJoining(true);
    setJoinError(null);
    try {
      // a guest gets its token now, with the name it chose (again after Leave: a new guest);
      // this tab's guest of before a reload, with the same name, is that guest again
      if (guest) {
        const pass = readGuestPass(meetingId);
        if (pass && pass.displayName === displayName.trim()) session.resumeGuest(meetingId, pass);
        else saveGuestPass(meetingId, guestPassOf(await session.joinAsGuest(meetingId, displayName)));
      }
      const joined = await api.meetings.join(meetingId);
      if (joined.status === "waiting") return waitInLobby(joined.meeting, displayName);
      startRoom(joined.meeting, joined.role, displayName);
    } catch (err) {
      setJoining(false);
      if (forgetRefusedPass(err)) return setJoinError("Your guest pass is no longer valid. Join again to come in as a new guest.");
      if (err instanceof ApiError && err.code === "removed_from_meeting") return setStage({ name: "removed", by: null });
      if (err instanceof ApiError && (err.code === "guests_not_allowed" || err.code === "guest_not_allowed")) {
        setJoinError("This meeting no longer allows guests. Sign in to join it.");
      } else if (err instanceof ApiError && err.status === 429) {
        setJoinError("Too many attempts from this network. Wait a few minutes and try again.");
      } else if (err instanceof ApiError && err.status === 410) {
        setStage({ name: "ended", meeting: { ...stage.meeting, status: "ended" } });
      } else if (err instanceof ApiError && err.status === 404) {
        setStage({ name: "not-found" });
      } else if (err instanceof ApiError && err.code === "not_a_participant") {
        setJoinError("This is a private call between two people. Ask them to add you: then its link lets you in.");
      } else if (err instanceof ApiError && err.code === "lobby_denied") {
        setJoinError("The host did not let you in to this meeting.");
      } else if (err instanceof ApiError && err.code === "meeting_locked") {
        setJoinError("This meeting is locked: the host lets nobody new in.");
      } else if (err instanceof ApiError && err.code === "not_open_yet") {
        setJoinError("This meeting has not opened yet. Try again at the time shown.");
      } else {
        setJoinError("Joining failed. Check your connection and try again.");
      }
    }
  };

  /** In the lobby until the host or a co-host decides (docs/web-client.md, "Lobby"). */
  const waitInLobby = (meeting: MeetingInfo, displayName: string) => {
    setJoining(false);
    setChosenName(displayName || undefined);
    const wait = new LobbyWait(api, meetingId);
    setStage({ name: "waiting", meeting, wait, displayName });
  };
  const waiting = stage.name === "waiting" ? stage : null;
  useEffect(() => {
    if (!waiting) return;
    const unsubscribe = waiting.wait.state.subscribe((s) => {
      if (s.phase === "admitted") startRoom(s.joined.meeting, s.joined.role, waiting.displayName);
      else if (s.phase === "denied") {
        forgetRejoin(meetingId);
        setStage({ name: "denied" });
      }
      else if (s.phase === "withdrawn") {
        setStage({ name: "prejoin", meeting: waiting.meeting });
        setJoinError("You stopped waiting in another tab or window. Ask to join again when you are ready.");
      } else if (s.phase === "failed") setStage({ name: "error", message: s.error });
    });
    waiting.wait.start();
    return () => {
      unsubscribe();
      waiting.wait.close();
    };
  }, [waiting?.wait]);

  /** Opens the devices as they were before the reload (or both, for an answered call); false
   * (pre-join instead) without any. */
  const rejoinMedia = async (rejoin: Omit<RejoinState, "savedAt">, call: boolean): Promise<boolean> => {
    setStage({ name: "rejoining", call });
    await media.start();
    if (!media.current.audio && !media.current.camera) return false;
    await media.setMic(rejoin.micOn && !!media.current.audio);
    await media.setCamera(rejoin.cameraOn && !!media.current.camera);
    return true;
  };

  const startRoom = (meeting: MeetingInfo, role: Role, displayName: string) => {
    setChosenName(displayName || undefined);
    const user = session.user!; // a guest's is new since the last render
    const room = new RoomSession({
      api,
      user,
      meeting,
      role,
      displayName: displayName || user.display_name,
      media,
      onSessionEnded: (reason) => session.ended(reason),
    });
    setJoining(false);
    setStage({ name: "room", room });
    void room.start();
  };

  switch (stage.name) {
    case "loading":
      return <CenteredMessage title="Opening the meeting…" />;
    case "rejoining":
      return <CenteredMessage title={stage.call ? "Joining the call…" : "Rejoining the meeting…"} />;
    case "not-found":
      return (
        <CenteredMessage title="This link does not open a meeting" alert="Meeting not found. Check the link you were given.">
          {guest ? (
            <a href="/signin" onClick={linkClick} class="button-secondary">
              Sign in
            </a>
          ) : (
            <a href="/" onClick={linkClick} class="button-secondary">
              Back to your meetings
            </a>
          )}
        </CenteredMessage>
      );
    case "error":
      return (
        <CenteredMessage title="Something went wrong" alert={stage.message}>
          <button type="button" class="button-primary" onClick={load}>
            Try again
          </button>
        </CenteredMessage>
      );
    case "prejoin":
      return (
        <PreJoin
          meeting={stage.meeting}
          media={media}
          onJoin={join}
          initialName={chosenName}
          guest={guest}
          joining={joining}
          error={joinError}
          onMeetingChanged={(meeting) => setStage(meeting.status === "ended" ? { name: "ended", meeting } : { name: "prejoin", meeting })}
        />
      );
    case "room":
      return <Room room={stage.room} media={media} user={session.user!} />;
    case "waiting":
      return (
        <CenteredMessage title="Waiting for the host to let you in">
          <p class="lobby-wait" role="status" data-testid="lobby-waiting">
            The host of “{stage.meeting.title}” knows you are here. You join as soon as they let you in.
          </p>
          <button
            type="button"
            class="button-secondary"
            onClick={() => {
              void stage.wait.cancel();
              setStage({ name: "prejoin", meeting: stage.meeting });
            }}
          >
            Cancel
          </button>
        </CenteredMessage>
      );
    case "denied":
      return <CenteredMessage title="The host did not let you in" alert="You cannot join this meeting." />;
    case "removed":
      return (
        <CenteredMessage title="You were removed from the meeting" alert={`${stage.by ?? "The host"} removed you. You cannot join this meeting again.`}>
          {!guest && (
            <a href="/" onClick={linkClick} class="button-secondary">
              Back to your meetings
            </a>
          )}
        </CenteredMessage>
      );
    case "ended":
      if (!user) return <CenteredMessage title="This meeting has ended" />;
      return <Ended meeting={stage.meeting} />;
    case "left":
    case "moved": {
      const call = Boolean(stage.meeting.call_id);
      const left = call ? "You left the call" : "You left the meeting";
      return (
        <CenteredMessage title={stage.name === "moved" ? "You joined from another window" : left}>
          {stage.name === "moved" && (
            <p data-testid="participant-moved">This meeting continues in your other window or on your other device. Join here to bring it back to this one.</p>
          )}
          <div class="actions">
            <button
              type="button"
              class="button-primary"
              onClick={() => {
                setMedia(new LocalMedia());
                setStage({ name: "prejoin", meeting: stage.meeting });
              }}
            >
              {stage.name === "moved" ? "Join here" : "Rejoin"}
            </button>
            {!guest && (
              <a href={call ? "/contacts" : "/"} onClick={linkClick} class="button-secondary">
                {call ? "Back to contacts" : "Back to your meetings"}
              </a>
            )}
          </div>
        </CenteredMessage>
      );
    }
  }
}

function CenteredMessage({ title, alert, children }: { title: string; alert?: string; children?: ComponentChildren }) {
  useTitle(title);
  return (
    <main class="centered" id="main">
      <h1>{title}</h1>
      {alert && <Alert>{alert}</Alert>}
      {children}
    </main>
  );
}
