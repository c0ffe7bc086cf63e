import { useEffect, useMemo, useState } from "preact/hooks";
import type { Meeting } from "../api/types";
import { useSession } from "../app/context";
import { isGuest } from "../app/session";
import { linkClick } from "../app/router";
import { ChatStore } from "../chat/store";
import { ChatPanel } from "../components/ChatPanel";
import { NotesPanel } from "../components/NotesPanel";
import { TopBar } from "../components/TopBar";
import { formatDateTime } from "../lib/format";
import { useStore } from "../lib/store";
import { useTitle } from "../lib/useTitle";
import { NotesStore } from "../room/notes";

/** The page's title and heading for each way a meeting ends. */
const ENDINGS = {
  ended: ["Meeting ended", "This meeting has ended"],
  cancelled: ["Meeting cancelled", "This meeting was cancelled"],
  expired: ["Meeting expired", "This meeting expired"],
} as const;

/** After the meeting: the ended notice, and the chat history (and one's notes) still readable.
 * A direct call's room (``call_id``) is told as a call, with the way back to contacts first. */
export function Ended({ meeting: initial }: { meeting: Meeting }) {
  const [meeting, setMeeting] = useState(initial);
  const ending = meeting.end_reason ?? "ended";
  const call = Boolean(initial.call_id);
  const [title, heading] = call ? ["Call ended", "This call has ended"] : ENDINGS[ending];
  useTitle(title);
  const session = useSession();
  useEffect(() => {
    // The room knew the meeting as it was when joining; ask for when it ended.
    if (!initial.ended_at) session.api.meetings.get(initial.meeting_id).then(setMeeting, () => undefined);
  }, [initial.meeting_id]);
  const user = session.user!;
  const chat = useMemo(() => new ChatStore(session.api, initial.meeting_id), [initial.meeting_id]);
  const notes = useMemo(() => new NotesStore(session.api, initial.meeting_id), [initial.meeting_id]);
  const chatState = useStore(chat.state);
  useEffect(() => {
    chat.setSender(user.user_id, user.display_name);
    void chat.loadHistory();
    if (!isGuest(user)) void notes.load(); // a guest has no notes
    return () => notes.dispose();
  }, [chat, notes]);

  return (
    <div class="page">
      <TopBar userName={user.display_name} />
      <main class="ended" id="main">
        <div class="ended-notice" role="alert">
          <h1 data-testid="meeting-ended">{heading}</h1>
          <p>
            {meeting.title}
            {meeting.ended_at ? ` · ${ending} ${formatDateTime(meeting.ended_at)}` : ""}
          </p>
          {ending === "expired" && <p data-testid="expired-reason">Everyone had left the call for a while, so it closed.</p>}
        </div>
        <p class="ended-actions">
          {call && (
            <a href="/contacts" onClick={linkClick} class="button-primary">
              Back to contacts
            </a>
          )}
          <a href="/" onClick={linkClick} class="button-secondary">
            Back to your meetings
          </a>
        </p>
        <div class="ended-panels">
          {chatState.allowed ? (
            <ChatPanel chat={chat} selfUserId={user.user_id} id="ended-chat" title="Chat history" />
          ) : (
            <p class="panel-note">Only participants of this meeting can read its chat.</p>
          )}
          {chatState.allowed && !isGuest(user) && <NotesPanel notes={notes} id="ended-notes" />}
        </div>
      </main>
    </div>
  );
}
