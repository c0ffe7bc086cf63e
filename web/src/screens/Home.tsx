import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError } from "../api";
import type { CalendarFeedState, Meeting } from "../api/types";
import { useSession } from "../app/context";
import { linkClick, navigate } from "../app/router";
import { Alert } from "../components/Alert";
import { AllowGuestsSwitch } from "../components/AllowGuestsSwitch";
import { AppNav } from "../components/AppNav";
import { CopyLinkButton } from "../components/CopyLinkButton";
import { ScheduleFields, type ScheduleValue } from "../components/ScheduleFields";
import { TopBar } from "../components/TopBar";
import { formatDateTime } from "../lib/format";
import { STALE, latestOnly } from "../lib/latest";
import { meetingIdFrom } from "../lib/meetingCode";
import { browserTimeZone, describeSchedule, wallTimeToIso } from "../lib/schedule";
import { useTitle } from "../lib/useTitle";
import { useUserSocket } from "../app/userSocket";
import { useUnreadMessages } from "../contacts/directMessages";
import { describeInvitations, useIncomingInvitations } from "../contacts/invitations";

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
      ? `${endWord(meeting)} ${formatDateTime(meeting.ended_at)}`
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
          {meeting.status === "ended" && <span class="badge badge-muted">{endWord(meeting)}</span>}
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
  const session = useSession();
  const user = session.user;
  const api = session.api;
  // direct messages and contact invitations reach the home page too (the app's socket): the
  // messages' count on "Contacts", the invitations in a notice above the cards
  const socket = useUserSocket();
  const dms = useUnreadMessages(api, socket, user?.user_id, null);
  const invitations = useIncomingInvitations(api, socket);
  useTitle(dms.total > 0 ? `(${dms.total}) Your meetings` : "Your meetings");
  const [meetings, setMeetings] = useState<Meeting[] | null>(null);
  const [startError, setStartError] = useState<string | null>(null); // "New meeting"'s, in its card
  const [scheduleError, setScheduleError] = useState<string | null>(null); // in the form, beside "Schedule"
  const scheduleErrorShown = useRef<HTMLParagraphElement>(null);
  useEffect(() => scheduleErrorShown.current?.scrollIntoView({ block: "nearest" }), [scheduleError]); // a phone's screen ends at "Schedule"
  const [loadError, setLoadError] = useState<string | null>(null); // the list's; a reload never hides an action's error
  const [title, setTitle] = useState("");
  const [when, setWhen] = useState<ScheduleValue>(() => ({ when: "", duration: 60, timeZone: browserTimeZone() }));
  const [busy, setBusy] = useState(false);
  const [scheduled, setScheduled] = useState<Meeting | null>(null);
  const [allowGuests, setAllowGuests] = useState(false);

  const load = async () => {
    try {
      setMeetings(await api.meetings.list());
      setLoadError(null);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === "not_signed_in")) setLoadError("Your meetings could not be loaded.");
    }
  };
  useEffect(() => {
    void load();
  }, []);

  const newMeeting = async () => {
    setBusy(true);
    setStartError(null);
    try {
      const meeting = await api.meetings.create(`${user?.display_name ?? "Instant"}'s meeting`.slice(0, 200));
      navigate(`/m/${meeting.meeting_id}`);
    } catch {
      setStartError("The meeting could not be created. Please try again.");
      setBusy(false);
    }
  };

  const schedule = async (event: Event) => {
    event.preventDefault();
    const start = wallTimeToIso(when.when, when.timeZone);
    if (!title.trim()) return setScheduleError("Give the meeting a title.");
    if (!start) return setScheduleError("Choose the date and time of the meeting.");
    if (Date.parse(start) < Date.now()) return setScheduleError("That time has passed. Choose a time in the future.");
    setBusy(true);
    setScheduleError(null);
    try {
      const meeting = await api.meetings.create(
        title.trim().slice(0, 200),
        { scheduled_start: start, duration_minutes: when.duration, time_zone: when.timeZone },
        { allow_guests: allowGuests },
      );
      setScheduled(meeting);
      setTitle("");
      setWhen({ ...when, when: "" });
      await load();
    } catch (err) {
      setScheduleError(err instanceof ApiError && err.status === 422 ? "That time has passed. Choose a time in the future." : "The meeting could not be scheduled. Please try again.");
    } finally {
      setBusy(false);
    }
  };

  const { upcoming, recent } = splitMeetings(meetings ?? [], Date.now());
  return (
    <div class="page">
      <TopBar userName={user?.display_name} onHome>
        <AppNav current="home" unread={dms.total} />
      </TopBar>
      <main class="home" id="main">
        <h1 class="visually-hidden">Your meetings</h1>
        {loadError && <Alert onDismiss={() => setLoadError(null)}>{loadError}</Alert>}
        {invitations.length > 0 && (
          <section class="card invitation-notice" aria-labelledby="invitation-notice-heading" data-testid="invitation-notice">
            <h2 id="invitation-notice-heading">Contact invitations</h2>
            <p>{describeInvitations(invitations)}</p>
            <a href="/contacts" class="button-primary" onClick={linkClick}>
              See invitations
            </a>
          </section>
        )}
        <section class="card home-start" aria-labelledby="start-heading">
          <h2 id="start-heading">Meet now</h2>
          <p>Start a meeting and share its link.</p>
          <button type="button" class="button-primary" onClick={newMeeting} disabled={busy}>
            New meeting
          </button>
          {startError && (
            <p class="field-error" role="alert">
              {startError}
            </p>
          )}
        </section>
        <JoinCodeCard />
        <section class="card" aria-labelledby="schedule-heading">
          <h2 id="schedule-heading">Schedule a meeting</h2>
          <form class="form schedule-form" onSubmit={schedule} noValidate>
            <div class="field">
              <label for="schedule-title">Title</label>
              <input id="schedule-title" type="text" required maxLength={200} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
            </div>
            <ScheduleFields idPrefix="schedule" value={when} onChange={setWhen} />
            <AllowGuestsSwitch id="schedule-allow-guests" checked={allowGuests} onChange={setAllowGuests} />
            {scheduleError && (
              <p class="field-error" id="schedule-error" role="alert" ref={scheduleErrorShown}>
                {scheduleError}
              </p>
            )}
            <button type="submit" class="button-primary" disabled={busy} aria-describedby={scheduleError ? "schedule-error" : undefined}>
              Schedule
            </button>
          </form>
          {scheduled && (
            <div class="scheduled-note" role="status">
              Scheduled “{scheduled.title}” for {describeSchedule(scheduled)}.{" "}
              <CopyLinkButton url={inviteUrl(scheduled)} />
            </div>
          )}
        </section>
        <CalendarFeedCard />
        <section class="card meetings" aria-labelledby="meetings-heading" data-testid="meeting-list">
          <h2 id="meetings-heading">Your meetings</h2>
          {meetings === null && !loadError && <p class="panel-note">Loading…</p>}
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

/** The private calendar feed address: get one (shown once), copy it, or stop sharing it. */
/** "Join with a code or link": a meeting code (`abcd-efgh-ijkl`) or an invite link opens the meeting. */
function JoinCodeCard() {
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const submit = (event: Event) => {
    event.preventDefault();
    const meetingId = meetingIdFrom(text);
    if (!meetingId) return setError("That is not a meeting code or link. A code looks like abcd-efgh-ijkl; a link ends in /m/ and a code.");
    setError(null);
    navigate(`/m/${meetingId}`);
  };
  return (
    <section class="card home-join" aria-labelledby="join-heading">
      <h2 id="join-heading">Join with a code or link</h2>
      <form class="form join-code-form" onSubmit={submit} noValidate>
        <div class="field">
          <label for="join-code">Meeting code or link</label>
          <input
            id="join-code"
            type="text"
            placeholder="abcd-efgh-ijkl"
            autoComplete="off"
            spellcheck={false}
            value={text}
            aria-invalid={error ? "true" : undefined}
            aria-describedby={error ? "join-code-error" : undefined}
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </div>
        <button type="submit" class="button-secondary" disabled={!text.trim()}>
          Join
        </button>
        {error && (
          <p class="field-error" id="join-code-error" role="alert">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}

function CalendarFeedCard() {
  const api = useSession().api;
  const [url, setUrl] = useState<string | null>(null);
  // Whether a feed exists, and since when; null until known (then both actions are offered).
  const [feed, setFeed] = useState<CalendarFeedState | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // an answer to the first load that comes after "Get calendar address" or "Stop sharing" is stale
  const latest = useMemo(latestOnly, []);
  useEffect(() => {
    latest(api.meetings.calendarFeed).then((state) => state !== STALE && setFeed(state), () => setFeed(null));
  }, [api]);
  const act = async (what: () => Promise<void>, failed: string) => {
    setBusy(true);
    try {
      await what();
    } catch {
      setStatus(failed);
    } finally {
      setBusy(false);
    }
  };
  const create = () =>
    act(async () => {
      const created = await latest(api.meetings.createCalendarFeed);
      if (created === STALE) return;
      setUrl(created);
      setFeed({ active: true, created_at: new Date().toISOString() });
      setStatus(null);
    }, "The calendar address could not be created. Please try again.");
  const revoke = () =>
    act(async () => {
      await latest(api.meetings.revokeCalendarFeed);
      setUrl(null);
      setFeed({ active: false, created_at: null });
      setStatus("Your calendar address no longer works.");
    }, "The calendar address could not be revoked. Please try again.");
  const active = feed?.active ?? true;
  return (
    <section class="card" aria-labelledby="feed-heading">
      <h2 id="feed-heading">Calendar feed</h2>
      <p>Subscribe to your upcoming meetings in your calendar app. Anyone with the address can see them; a new address stops the old one.</p>
      {url ? (
        <div class="feed-url">
          <label for="feed-url" class="visually-hidden">Calendar address</label>
          <input id="feed-url" type="text" readOnly value={url} onFocus={(e) => e.currentTarget.select()} />
          <CopyLinkButton url={url} label="Copy address" />
        </div>
      ) : (
        feed?.active && (
          <p class="field-hint feed-state" data-testid="feed-state">
            You have shared a calendar address since {formatDateTime(feed.created_at)}. It is shown only once: a new
            address shows one and stops the old one.
          </p>
        )
      )}
      <div class="actions">
        <button type="button" class="button-secondary" onClick={create} disabled={busy}>
          {feed?.active ? "New address" : "Get calendar address"}
        </button>
        {active && (
          <button type="button" class="button-quiet" onClick={revoke} disabled={busy}>
            Stop sharing
          </button>
        )}
      </div>
      {status && <p class="field-hint" role="status">{status}</p>}
    </section>
  );
}

/** How a list shows why a meeting is over. */
function endWord(meeting: Meeting): string {
  return meeting.end_reason === "cancelled" ? "Cancelled" : meeting.end_reason === "expired" ? "Expired" : "Ended";
}
