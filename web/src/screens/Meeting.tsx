import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "../api";
import type { Meeting as MeetingInfo, Role } from "../api/types";
import { useSession } from "../app/context";
import { linkClick } from "../app/router";
import { Alert } from "../components/Alert";
import { LocalMedia } from "../media/local";
import { RoomSession } from "../room/session";
import { useTitle } from "../lib/useTitle";
import { Ended } from "./Ended";
import { PreJoin } from "./PreJoin";
import { Room } from "./Room";

type Stage =
  | { name: "loading" }
  | { name: "not-found" }
  | { name: "error"; message: string }
  | { name: "prejoin"; meeting: MeetingInfo }
  | { name: "room"; room: RoomSession }
  | { name: "ended"; meeting: MeetingInfo }
  | { name: "left"; meeting: MeetingInfo };

/** The invite link `/m/{id}`: pre-join → room → ended (or left). */
export function Meeting({ meetingId }: { meetingId: string }) {
  const session = useSession();
  const api = session.api;
  const user = session.user!;
  const [stage, setStage] = useState<Stage>({ name: "loading" });
  const [joinError, setJoinError] = useState<string | null>(null);
  const [joining, setJoining] = useState(false);
  // One LocalMedia for the pre-join preview and the room (no second permission prompt); a
  // new one after leaving, for rejoining.
  const [media, setMedia] = useState(() => new LocalMedia());
  useEffect(() => () => media.stop(), [media]);

  const load = async () => {
    setStage({ name: "loading" });
    try {
      const meeting = await api.meetings.get(meetingId);
      if (meeting.status === "ended") return setStage({ name: "ended", meeting });
      // Holding the invite link makes one a participant: the meeting then shows in one's
      // list, and its chat is readable before the call. Joining the call is still a click away.
      await api.meetings.join(meetingId).catch(() => undefined);
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
    const unsubscribe = room.state.subscribe((s) => {
      if (s.phase === "ended") {
        media.stop();
        setStage({ name: "ended", meeting: { ...room.meeting, status: "ended" } });
      } else if (s.phase === "left") {
        media.stop();
        setStage({ name: "left", meeting: room.meeting });
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
      const { meeting, role } = await api.meetings.join(meetingId);
      startRoom(meeting, role, displayName);
    } catch (err) {
      setJoining(false);
      if (err instanceof ApiError && err.status === 410) {
        setStage({ name: "ended", meeting: { ...stage.meeting, status: "ended" } });
      } else if (err instanceof ApiError && err.status === 404) {
        setStage({ name: "not-found" });
      } else {
        setJoinError("Joining failed. Check your connection and try again.");
      }
    }
  };

  const startRoom = (meeting: MeetingInfo, role: Role, displayName: string) => {
    const room = new RoomSession({ api, user, meeting, role, displayName: displayName || user.display_name, media });
    setJoining(false);
    setStage({ name: "room", room });
    void room.start();
  };

  switch (stage.name) {
    case "loading":
      return <CenteredMessage title="Opening the meeting…" />;
    case "not-found":
      return (
        <CenteredMessage title="This link does not open a meeting" alert="Meeting not found. Check the link you were given.">
          <a href="/" onClick={linkClick} class="button-secondary">
            Back to your meetings
          </a>
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
      return <PreJoin meeting={stage.meeting} media={media} onJoin={join} joining={joining} error={joinError} />;
    case "room":
      return <Room room={stage.room} media={media} user={user} />;
    case "ended":
      return <Ended meeting={stage.meeting} />;
    case "left":
      return (
        <CenteredMessage title="You left the meeting">
          <div class="actions">
            <button
              type="button"
              class="button-primary"
              onClick={() => {
                setMedia(new LocalMedia());
                setStage({ name: "prejoin", meeting: stage.meeting });
              }}
            >
              Rejoin
            </button>
            <a href="/" onClick={linkClick} class="button-secondary">
              Back to your meetings
            </a>
          </div>
        </CenteredMessage>
      );
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
