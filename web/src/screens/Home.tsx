import { useEffect, useState } from "preact/hooks";
import { ApiError } from "../api";
import type { Meeting } from "../api/types";
import { useSession } from "../app/context";
import { linkClick, navigate } from "../app/router";
import { Alert } from "../components/Alert";
import { CopyLinkButton } from "../components/CopyLinkButton";
import { TopBar } from "../components/TopBar";
import { formatDateTime, localInputToIso } from "../lib/format";
import { useTitle } from "../lib/useTitle";

/** Upcoming: scheduled in the future and not ended, soonest first. Recent: the rest, newest first. */
export function splitMeetings(meetings: Meeting[], now: number): { upcoming: Meeting[]; recent: Meeting[] } {
  const upcoming: Meeting[] = [];
  const recent: Meeting[] = [];
  for (const m of meetings) {
    const start = m.scheduled_start ? Date.parse(m.scheduled_start) : NaN;
    if (m.status === "active" && start > now) upcoming.push(m);
    else recent.push(m);
  }
  upcoming.sort((a, b) => Date.parse(a.scheduled_start!) - Date.parse(b.scheduled_start!));
  const stamp = (m: Meeting) => Date.parse(m.ended_at ?? m.scheduled_start ?? m.created_at) || 0;
  recent.sort((a, b) => stamp(b) - stamp(a));
  return { upcoming, recent };
}

export function inviteUrl(meeting: Meeting): string {
  return meeting.invite_url || `${window.location.origin}/m/${meeting.meeting_id}`;
}

function MeetingItem({ meeting }: { meeting: Meeting }) {
  const titleId = `meeting-${meeting.meeting_id}-title`;
  const when =
    meeting.status === "ended"
      ? `Ended ${formatDateTime(meeting.ended_at)}`
      : meeting.scheduled_start
        ? formatDateTime(meeting.scheduled_start)
        : `Created ${formatDateTime(meeting.created_at)}`;
  return (
    <li class="meeting-item" data-testid="meeting-item" data-meeting-id={meeting.meeting_id}>
      <div class="meeting-info">
        <span class="meeting-title" id={titleId}>
          {meeting.title}
        </span>
        <span class="meeting-when">
          {when}
          {meeting.status === "ended" && <span class="badge badge-muted">Ended</span>}
        </span>
      </div>
      <div class="meeting-actions">
        <a class="button-secondary" href={`/m/${meeting.meeting_id}`} onClick={linkClick} aria-describedby={titleId}>
          Open
        </a>
        <CopyLinkButton url={inviteUrl(meeting)} describedBy={titleId} />
      </div>
    </li>
  );
}

export function Home() {
  useTitle("Your meetings");
  const session = useSession();
  const user = session.user;
  const api = session.api;
  const [meetings, setMeetings] = useState<Meeting[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [title, setTitle] = useState("");
  const [when, setWhen] = useState("");
  const [busy, setBusy] = useState(false);
  const [scheduled, setScheduled] = useState<Meeting | null>(null);

  const load = async () => {
    try {
      setMeetings(await api.meetings.list());
      setError(null);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === "not_signed_in")) setError("Your meetings could not be loaded.");
    }
  };
  useEffect(() => {
    void load();
  }, []);

  const newMeeting = async () => {
    setBusy(true);
    setError(null);
    try {
      const meeting = await api.meetings.create(`${user?.display_name ?? "Instant"}'s meeting`.slice(0, 200));
      navigate(`/m/${meeting.meeting_id}`);
    } catch {
      setError("The meeting could not be created. Please try again.");
      setBusy(false);
    }
  };

  const schedule = async (event: Event) => {
    event.preventDefault();
    const start = localInputToIso(when);
    if (!title.trim()) return setError("Give the meeting a title.");
    if (!start) return setError("Choose the date and time of the meeting.");
    setBusy(true);
    setError(null);
    try {
      const meeting = await api.meetings.create(title.trim().slice(0, 200), start);
      setScheduled(meeting);
      setTitle("");
      setWhen("");
      await load();
    } catch {
      setError("The meeting could not be scheduled. Please try again.");
    } finally {
      setBusy(false);
    }
  };

  const signOut = async () => {
    await session.signOut();
    navigate("/signin", { replace: true });
  };

  const { upcoming, recent } = splitMeetings(meetings ?? [], Date.now());
  return (
    <div class="page">
      <TopBar userName={user?.display_name} onHome>
        <button type="button" class="button-quiet" onClick={signOut}>
          Sign out
        </button>
      </TopBar>
      <main class="home" id="main">
        <h1 class="visually-hidden">Your meetings</h1>
        {error && <Alert onDismiss={() => setError(null)}>{error}</Alert>}
        <section class="card home-start" aria-labelledby="start-heading">
          <h2 id="start-heading">Meet now</h2>
          <p>Start a meeting and share its link.</p>
          <button type="button" class="button-primary" onClick={newMeeting} disabled={busy}>
            New meeting
          </button>
        </section>
        <section class="card" aria-labelledby="schedule-heading">
          <h2 id="schedule-heading">Schedule a meeting</h2>
          <form class="form schedule-form" onSubmit={schedule}>
            <div class="field">
              <label for="schedule-title">Title</label>
              <input id="schedule-title" type="text" required maxLength={200} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
            </div>
            <div class="field">
              <label for="schedule-when">Date and time</label>
              <input id="schedule-when" type="datetime-local" required value={when} onInput={(e) => setWhen(e.currentTarget.value)} />
            </div>
            <button type="submit" class="button-primary" disabled={busy}>
              Schedule
            </button>
          </form>
          {scheduled && (
            <div class="scheduled-note" role="status">
              Scheduled “{scheduled.title}” for {formatDateTime(scheduled.scheduled_start)}.{" "}
              <CopyLinkButton url={inviteUrl(scheduled)} />
            </div>
          )}
        </section>
        <section class="card meetings" aria-labelledby="meetings-heading" data-testid="meeting-list">
          <h2 id="meetings-heading">Your meetings</h2>
          {meetings === null && !error && <p class="panel-note">Loading…</p>}
          {meetings !== null && meetings.length === 0 && <p class="panel-note">No meetings yet. Start one or schedule one above.</p>}
          {upcoming.length > 0 && (
            <>
              <h3>Upcoming</h3>
              <ul class="meeting-list">
                {upcoming.map((m) => (
                  <MeetingItem key={m.meeting_id} meeting={m} />
                ))}
              </ul>
            </>
          )}
          {recent.length > 0 && (
            <>
              <h3>Recent</h3>
              <ul class="meeting-list">
                {recent.map((m) => (
                  <MeetingItem key={m.meeting_id} meeting={m} />
                ))}
              </ul>
            </>
          )}
        </section>
      </main>
    </div>
  );
}
