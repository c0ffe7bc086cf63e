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

/** After the meeting: the ended notice, and the chat history (and one's notes) still readable.
 * A direct call's room (``call_id``) is told as a call, with the way back to contacts first. */
export function Ended({ meeting: initial }: { meeting: Meeting }) {
  const [meeting, setMeeting] = useState(initial);
  const cancelled = meeting.end_reason === "cancelled";
  const expired = meeting.end_reason === "expired";
  const call = Boolean(initial.call_id);
  useTitle(call ? "Call ended" : cancelled ? "Meeting cancelled" : expired ? "Meeting expired" : "Meeting ended");
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
          <h1 data-testid="meeting-ended">
            {call ? "This call has ended" : cancelled ? "This meeting was cancelled" : expired ? "This meeting expired" : "This meeting has ended"}
          </h1>
          <p>
            {meeting.title}
            {meeting.ended_at
              ? ` · ${cancelled ? "cancelled" : expired ? "expired" : "ended"} ${formatDateTime(meeting.ended_at)}`
              : ""}
          </p>
          {expired && <p data-testid="expired-reason">Everyone had left the call for a while, so it closed.</p>}
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
