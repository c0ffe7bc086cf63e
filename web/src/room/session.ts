import type { Api } from "../api";
import type { Admission, Meeting, Role, User, WaitingPerson } from "../api/types";
import { ChatStore } from "../chat/store";
import { background } from "../lib/background";
import { beep } from "../lib/beep";
import { Store } from "../lib/store";
import type { LocalMedia } from "../media/local";
import { downloadBlob, recordingFileName, recordingProblem } from "../media/recorder";
import { IceServerProvider } from "../rtc/ice";
import { Mesh, type MeshOptions, type RemoteParticipant } from "../rtc/mesh";
import { SignalingClient, type SignalingOptions } from "../signaling/client";
import { type ConnectionState, type MediaState, type RaisedHand, type Reaction, type Recorder, type ServerEvents, SignalingError } from "../signaling/types";
import { NotesStore } from "./notes";
import { MeetingRecorder, type RecordedRoom } from "./recording";
import { forgetRejoin, saveRejoin } from "./rejoin";

/** `moved`: this user joined the meeting from another window or device, which has the call now.
 * `removed`: the host or a co-host removed us (we cannot join again). */
export type RoomPhase = "joining" | "in-call" | "left" | "ended" | "moved" | "removed" | "failed";

/** Our recording: `starting` until the recorder fired `start`, `stopping` until the file is ready. */
export type RecordingPhase = "off" | "starting" | "recording" | "stopping";

export interface RoomState {
  phase: RoomPhase;
  connection: ConnectionState;
  /** Connected at least once (so a later disconnection is "lost", not "connecting"). */
  wasConnected: boolean;
  /** Our participant id in the room (what the others see as our `sid`), null before the first join. */
  selfSid: string | null;
  participants: RemoteParticipant[];
  /** Why the room cannot be used, in words. */
  error: string | null;
  /** A passing problem, in words (ending failed, recording failed, ...). */
  notice: string | null;
  recording: RecordingPhase;
  /** Who records the meeting (us included), in the order they started, as signaling says. */
  recordings: Recorder[];
  /** The last recording, as a blob URL the user can download again. */
  recordingUrl: string | null;
  recordingName: string | null;
  /** The room's raised hands (participant ids, ours included), in the order they were raised. */
  hands: RaisedHand[];
  /** The participant id the host or a co-host spotlights for the room (null: none). */
  spotlight: string | null;
  /** Reactions shown right now, over their sender's tile (participant id `sid`). */
  reactions: ShownReaction[];
  /** The host asked us to unmute (their name), until we answer or dismiss it. */
  unmuteAskedBy: string | null;
  /** Who waits in the lobby (known to the host and co-hosts only), in arrival order. */
  lobby: WaitingPerson[];
  /** The participants who are co-hosts (user ids). */
  cohostIds: string[];
  /** Who joins without waiting. */
  admission: Admission;
  /** Who removed us (phase `removed`). */
  removedBy: string | null;
}

/** A reaction on screen: `id` tells two equal ones apart. */
export interface ShownReaction {
  id: number;
  sid: string;
  emoji: string;
}

/** How long a reaction stays over its sender's tile. */
export const REACTION_MS = 4_000;

export interface RoomOptions {
  api: Api;
  user: User;
  meeting: Meeting;
  role: Role;
  displayName: string;
  media: LocalMedia;
  /** The sign-in session was ended elsewhere (signaling's `session-ended`). */
  onSessionEnded?: (reason: string) => void;
  /** The socket.io socket factory (unit tests); the real one by default. */
  createSocket?: SignalingOptions["createSocket"];
  /** The peer connection factory (unit tests); the real one by default. */
  createPeer?: MeshOptions["createPeer"];
}

const JOIN_RETRY_MS = 2_000;

/**
 * One meeting, live: the signaling connection, the mesh of peer connections, chat, notes and
 * recording. Survives connection loss without cutting media (docs/web-client.md,
 * "Reconnection, drain and leaving"): it joins as a resumable participant, and after every
 * reconnection joins again with `resume: <participant id>`. Resumed, the peer connections are
 * kept (pruned to the room, new participants called, stalled ones renegotiated); not resumed
 * (held too long, an older server), the old connections are closed and the others call the
 * new participant.
 */
export class RoomSession {
  readonly state = new Store<RoomState>({
    phase: "joining",
    connection: "connecting",
    wasConnected: false,
    selfSid: null,
    participants: [],
    error: null,
    notice: null,
    recording: "off",
    recordings: [],
    recordingUrl: null,
    recordingName: null,
    hands: [],
    spotlight: null,
    reactions: [],
    unmuteAskedBy: null,
    lobby: [],
    cohostIds: [],
    admission: "open",
    removedBy: null,
  });
  readonly chat: ChatStore;
  readonly notes: NotesStore;
  readonly signaling: SignalingClient;
  readonly mesh: Mesh;
  private readonly ice: IceServerProvider;
  private readonly cleanups: Array<() => void> = [];
  private recorder: MeetingRecorder | null = null;
  private joinRetry: ReturnType<typeof setTimeout> | null = null;
  private lastMediaState = "";
  private lastRevision = -1;
  private closed = false;
  private holding = true;
  private held: Array<() => void> = [];
  /** Our participant id once a join was acknowledged: the next session resumes it. */
  private participantId: string | null = null;
  private reactionIds = 0;
  private readonly reactionTimers = new Set<ReturnType<typeof setTimeout>>();

  constructor(private readonly options: RoomOptions) {
    const { api, meeting, user, media } = options;
    this.state.set({ cohostIds: meeting.cohost_ids ?? [], admission: meeting.admission ?? "open" });
    this.chat = new ChatStore(api, meeting.meeting_id);
    this.chat.setSender(user.user_id, options.displayName);
    this.notes = new NotesStore(api, meeting.meeting_id);
    this.ice = new IceServerProvider({ fetchCredentials: () => api.turn.credentials() });
    this.signaling = new SignalingClient({
      getToken: () => api.http.accessToken(),
      refreshToken: () => api.http.refresh(),
      onSessionEnded: (reason) => options.onSessionEnded?.(reason),
      createSocket: options.createSocket,
    });
    this.mesh = new Mesh({
      signaling: this.signaling,
      meetingId: meeting.meeting_id,
      iceServers: () => this.ice.current,
      outgoing: () => {
        const s = media.current;
        return { audio: s.audio, video: s.video, screen: s.screen };
      },
      onChange: () => {
        this.state.set({ participants: this.mesh.participants() });
        this.recorder?.update(this.recordedRoom());
      },
      createPeer: options.createPeer,
    });
  }

  get meeting(): Meeting {
    return this.options.meeting;
  }

  get displayName(): string {
    return this.options.displayName;
  }

  get isHost(): boolean {
    return this.options.role === "host" || this.options.meeting.host_id === this.options.user.user_id;
  }

  /** The host, or a co-host: admits from the lobby, mutes, removes participants. */
  get canModerate(): boolean {
    return this.isHost || this.state.get().cohostIds.includes(this.options.user.user_id);
  }

  async start(): Promise<void> {
    const { signaling, mesh } = this;
    const media = this.options.media;
    const ours = (p: { meeting_id: string }) => p.meeting_id === this.meeting.meeting_id;
    this.cleanups.push(
      this.ice.onChange((servers) => mesh.setIceServers(servers)),
      signaling.onState((connection) => this.state.set({ connection })),
      signaling.onSession((_session, resumed) => {
        this.state.set({ wasConnected: true });
        // A new socket. The peer connections stay up (media needs no signaling while it
        // flows) until the join says whether we resumed. Until the join is acknowledged, room
        // events wait (an offer can overtake the acknowledgement).
        this.holding = true;
        this.held = [];
        background(this.join(resumed), "join");
      }),
      signaling.on("peer-joined", (p) =>
        this.inRoom(p, () => {
          mesh.peerJoined(p);
          this.sendMediaState(true);
        }),
      ),
      signaling.on("peer-left", (p) =>
        this.inRoom(p, () => {
          mesh.peerLeft(p.sid);
          const { hands, recordings, spotlight } = this.state.get();
          this.state.set({
            hands: hands.filter((h) => h.sid !== p.sid),
            recordings: recordings.filter((r) => r.sid !== p.sid),
            spotlight: spotlight === p.sid ? null : spotlight,
          });
        }),
      ),
      signaling.on("hands", (p) => this.inRoom(p, () => this.state.set({ hands: p.hands }))),
      signaling.on("recording", (p) => this.inRoom(p, () => this.state.set({ recordings: p.recordings }))),
      signaling.on("spotlight", (p) => this.inRoom(p, () => this.state.set({ spotlight: p.sid }))),
      signaling.on("reaction", (p) => this.inRoom(p, () => this.showReaction(p.sid, p.emoji))),
      signaling.on("moderation", (p) => this.inRoom(p, () => this.moderated(p))),
      signaling.on("peer-resumed", (p) =>
        this.inRoom(p, () => {
          mesh.peerResumed(p);
          this.sendMediaState(true); // what we sent during its gap was lost
        }),
      ),
      signaling.on("offer", (p) => this.inRoom(p, () => background(mesh.handleOffer(p.from, p.sdp), "offer"))),
      signaling.on("answer", (p) => this.inRoom(p, () => background(mesh.handleAnswer(p.from, p.sdp), "answer"))),
      signaling.on("ice-candidate", (p) => this.inRoom(p, () => background(mesh.handleCandidate(p.from, p.candidate), "ice-candidate"))),
      signaling.on("peer-media-state", (p) => this.inRoom(p, () => mesh.setMediaState(p.sid, p))),
      signaling.on("chat-message", (m) => this.chat.receive(m)),
      signaling.on("meeting-ended", (p) => ours(p) && this.ended()),
      signaling.on("participant-moved", (p) => ours(p) && this.finish("moved")),
      signaling.on("lobby", (p) => ours(p) && this.lobbyChanged(p)),
      signaling.on("role-changed", (p) => ours(p) && this.roleChanged(p.user_id, p.role)),
      signaling.on("meeting-updated", (p) => ours(p) && this.state.set({ admission: p.admission })),
      signaling.on("removed", (p) => {
        if (!ours(p)) return;
        this.state.set({ removedBy: p.by_name });
        this.finish("removed");
      }),
      media.state.subscribe((s) => {
        if (s.revision !== this.lastRevision) {
          this.lastRevision = s.revision;
          mesh.updateOutgoing();
        }
        this.sendMediaState(false);
        this.remember();
        this.recorder?.update(this.recordedRoom());
      }),
    );
    if (typeof window !== "undefined") {
      window.addEventListener("pagehide", this.onPageHide);
      this.cleanups.push(() => window.removeEventListener("pagehide", this.onPageHide));
    }
    this.lastRevision = media.current.revision;
    void this.chat.loadHistory();
    void this.notes.load();
    // ICE servers first (a failure leaves host candidates only), then the socket.
    await this.ice.get();
    if (this.closed) return;
    signaling.connect();
  }

  /** Runs a room event now, or after the pending join is acknowledged. */
  private inRoom(payload: { meeting_id: string }, apply: () => void): void {
    if (payload.meeting_id !== this.meeting.meeting_id) return;
    if (this.holding) this.held.push(apply);
    else apply();
  }

  private async join(resumed: boolean): Promise<void> {
    if (this.closed || this.isOver()) return;
    if (this.joinRetry) clearTimeout(this.joinRetry);
    this.joinRetry = null;
    const sid = this.signaling.sid;
    if (!sid) return;
    const previous = this.participantId;
    try {
      const ack = await this.signaling.request("join", {
        meeting_id: this.meeting.meeting_id,
        display_name: this.options.displayName.slice(0, 80),
        resumable: true,
        ...(previous ? { resume: previous } : {}),
      });
      if (this.closed || this.isOver() || this.signaling.sid !== sid) return;
      const participantId = ack.participant_id ?? sid;
      this.participantId = participantId;
      if (previous && ack.resumed === true && participantId === previous) this.mesh.resume(participantId, ack.peers);
      else this.mesh.reset(participantId, ack.peers);
      this.state.set({
        selfSid: participantId,
        hands: ack.hands ?? [],
        recordings: ack.recordings ?? [],
        spotlight: ack.spotlight ?? null,
      });
      this.holding = false;
      for (const apply of this.held.splice(0)) apply();
      this.state.set({ phase: "in-call", error: null });
      if (this.canModerate) background(this.loadLobby(), "lobby");
      this.remember();
      this.sendMediaState(true);
      if (this.state.get().recording === "recording") this.announceRecording(true); // a new room, or a new replica
      if (resumed) void this.chat.loadHistory(); // messages sent while we were away
    } catch (err) {
      if (this.closed) return;
      const code = err instanceof SignalingError ? err.code : "internal";
      if (code === "meeting_ended") return this.ended();
      if (code === "meeting_not_found") return this.fail("Meeting not found.");
      if (code === "forbidden") return this.fail("You are not a participant of this meeting.");
      if (code === "removed_from_meeting") return this.finish("removed");
      if (code === "participant_moved") return this.finish("moved"); // another window joined at the same moment
      if (code === "unauthorized") {
        // The token expired: reconnect with a fresh one (the session event then joins again).
        await this.options.api.http.refresh().catch(() => undefined);
        this.signaling.dropConnection();
        return;
      }
      if (code === "disconnected") return; // the next session will join
      this.joinRetry = setTimeout(() => background(this.join(resumed), "join"), JOIN_RETRY_MS);
    }
  }

  /** Tells the room our microphone, camera and screen state (when it changed, or `force`). */
  private sendMediaState(force: boolean): void {
    if (this.state.get().phase !== "in-call" || !this.signaling.connected) return;
    const media: MediaState = this.options.media.mediaState();
    const key = JSON.stringify(media);
    if (!force && key === this.lastMediaState) return;
    this.lastMediaState = key;
    void this.signaling.request("media-state", { meeting_id: this.meeting.meeting_id, ...media }).catch(() => {
      // An older server without media-state: tiles then show no mute state.
      this.lastMediaState = "";
    });
  }

  /** The tab is closed or navigated away: leave at once (best effort), so the others do not
   * wait for the hold time to see us go. */
  private readonly onPageHide = (): void => {
    if (this.closed) return;
    if (this.signaling.connected) {
      void this.signaling.request("leave", { meeting_id: this.meeting.meeting_id }, 1_000).catch(() => undefined);
    }
    this.teardown();
    this.state.set({ phase: "left" });
  };

  async leave(): Promise<void> {
    forgetRejoin(this.meeting.meeting_id); // left on purpose: a reload shows the pre-join
    if (this.signaling.connected) {
      await this.signaling.request("leave", { meeting_id: this.meeting.meeting_id }, 2_000).catch(() => undefined);
    }
    this.teardown();
    this.state.set({ phase: "left" });
  }

  /** Whether our own hand is raised. */
  get handRaised(): boolean {
    const self = this.state.get().selfSid;
    return !!self && this.state.get().hands.some((h) => h.sid === self);
  }

  /** Raises or lowers our hand; the room (us included) learns the change from `hands`. */
  async setHand(raised: boolean): Promise<void> {
    const meeting_id = this.meeting.meeting_id;
    try {
      if (raised) await this.signaling.request("raise-hand", { meeting_id });
      else await this.signaling.request("lower-hand", { meeting_id });
    } catch (err) {
      this.gestureFailed(err, raised ? "Your hand could not be raised." : "Your hand could not be lowered.");
    }
  }

  /** Lowers participant `sid`'s hand (the host's remedy; the server refuses others). */
  async lowerHandOf(sid: string): Promise<void> {
    try {
      await this.signaling.request("lower-hand", { meeting_id: this.meeting.meeting_id, sid });
    } catch (err) {
      this.gestureFailed(err, "That hand could not be lowered.");
    }
  }

  /** Sends a reaction; every tile shows it over ours when it comes back from the server. */
  async react(emoji: Reaction): Promise<void> {
    try {
      await this.signaling.request("reaction", { meeting_id: this.meeting.meeting_id, emoji });
    } catch (err) {
      this.gestureFailed(err, "The reaction could not be sent.");
    }
  }

  /** The host's remedies (docs/signaling.md, "Moderation"): mute participant `sid`, or
   * everyone but us (`sid` null); ask `sid` to unmute. The server refuses anyone but the host. */
  async mute(sid: string | null): Promise<void> {
    try {
      await this.signaling.request("mute", sid ? { meeting_id: this.meeting.meeting_id, sid } : { meeting_id: this.meeting.meeting_id });
    } catch (err) {
      this.gestureFailed(err, sid ? "That participant could not be muted." : "Everyone could not be muted.");
    }
  }

  /** Spotlights participant `sid` for the whole room, or nobody (null); the room (us included)
   * learns it from `spotlight`. The server refuses anyone but the host and co-hosts. */
  async setSpotlight(sid: string | null): Promise<void> {
    try {
      await this.signaling.request("spotlight", { meeting_id: this.meeting.meeting_id, sid });
    } catch (err) {
      this.gestureFailed(err, sid ? "That participant could not be spotlighted." : "The spotlight could not be removed.");
    }
  }

  async askUnmute(sid: string): Promise<void> {
    try {
      await this.signaling.request("ask-unmute", { meeting_id: this.meeting.meeting_id, sid });
    } catch (err) {
      this.gestureFailed(err, "The request could not be sent.");
    }
  }

  /** Answers the host's request to unmute: the microphone on (`true`) or not. */
  answerUnmute(unmute: boolean): void {
    this.state.set(unmute ? { unmuteAskedBy: null, notice: null } : { unmuteAskedBy: null });
    if (unmute) void this.options.media.setMic(true);
  }

  private moderated(p: ServerEvents["moderation"]): void {
    const self = this.state.get().selfSid;
    const forUs = p.sid === null ? p.by !== self : p.sid === self;
    if (!forUs) return;
    if (p.action === "mute") {
      void this.options.media.setMic(false);
      this.state.set({ notice: `${p.by_name} muted you. Turn your microphone on when you want to speak.`, unmuteAskedBy: null });
    } else if (!this.options.media.state.get().micOn) {
      this.state.set({ unmuteAskedBy: p.by_name });
    }
  }

  /** Reads who waits (host and co-hosts), merged with what `lobby` events said meanwhile. */
  private async loadLobby(): Promise<void> {
    const before = this.lobbyGone.length;
    const waiting = await this.options.api.meetings.lobby(this.meeting.meeting_id).catch(() => null);
    if (!waiting || this.closed) return;
    const gone = new Set(this.lobbyGone.slice(before));
    const known = new Set(waiting.map((w) => w.user_id));
    const newer = this.state.get().lobby.filter((w) => !known.has(w.user_id));
    this.state.set({ lobby: [...waiting.filter((w) => !gone.has(w.user_id)), ...newer] });
  }

  /** Users who left the lobby, in the order their `lobby` events came (see loadLobby). */
  private readonly lobbyGone: string[] = [];

  private lobbyChanged(p: ServerEvents["lobby"]): void {
    const others = this.state.get().lobby.filter((w) => w.user_id !== p.user_id);
    if (p.action === "waiting") {
      this.state.set({ lobby: [...others, { user_id: p.user_id, display_name: p.display_name, guest: p.guest, requested_at: p.at }] });
      beep();
    } else {
      this.lobbyGone.push(p.user_id);
      this.state.set({ lobby: others });
    }
  }

  private roleChanged(userId: string, role: "cohost" | "participant"): void {
    const wasModerator = this.canModerate;
    const cohostIds = this.state.get().cohostIds.filter((id) => id !== userId);
    this.state.set({ cohostIds: role === "cohost" ? [...cohostIds, userId] : cohostIds });
    if (!wasModerator && this.canModerate) background(this.loadLobby(), "lobby");
    if (wasModerator && !this.canModerate) this.state.set({ lobby: [] });
  }

  /** The host's and co-hosts' decisions (meetings refuses anyone else). */
  async admit(userId: string | null): Promise<void> {
    const id = this.meeting.meeting_id;
    await this.moderate(() => (userId ? this.options.api.meetings.admit(id, userId) : this.options.api.meetings.admitAll(id)), "They could not be admitted.");
  }

  async deny(userId: string): Promise<void> {
    await this.moderate(() => this.options.api.meetings.deny(this.meeting.meeting_id, userId), "They could not be denied.");
  }

  async setAdmission(admission: Admission): Promise<void> {
    await this.moderate(async () => {
      const meeting = await this.options.api.meetings.update(this.meeting.meeting_id, { admission });
      this.state.set({ admission: meeting.admission ?? admission });
    }, "Who can join could not be changed.");
  }

  async setCohost(userId: string, cohost: boolean): Promise<void> {
    await this.moderate(async () => {
      await this.options.api.meetings.setRole(this.meeting.meeting_id, userId, cohost ? "cohost" : "participant");
      this.roleChanged(userId, cohost ? "cohost" : "participant");
    }, "The role could not be changed.");
  }

  async remove(userId: string): Promise<void> {
    await this.moderate(() => this.options.api.meetings.remove(this.meeting.meeting_id, userId), "They could not be removed.");
  }

  private async moderate(action: () => Promise<unknown>, words: string): Promise<void> {
    try {
      await action();
    } catch {
      this.state.set({ notice: `${words} Please try again.` });
    }
  }

  private gestureFailed(err: unknown, words: string): void {
    const limited = err instanceof SignalingError && err.code === "rate_limited";
    this.state.set({ notice: limited ? `${words} Too many at once: wait a moment.` : words });
  }

  private showReaction(sid: string, emoji: string): void {
    const id = ++this.reactionIds;
    this.state.set({ reactions: [...this.state.get().reactions, { id, sid, emoji }] });
    const timer = setTimeout(() => {
      this.reactionTimers.delete(timer);
      this.state.set({ reactions: this.state.get().reactions.filter((r) => r.id !== id) });
    }, REACTION_MS);
    this.reactionTimers.add(timer);
  }

  async endForEveryone(): Promise<void> {
    try {
      await this.options.api.meetings.end(this.meeting.meeting_id);
      this.ended();
    } catch {
      this.state.set({ notice: "The meeting could not be ended. Please try again." });
    }
  }

  /** What we see and hear, for the recording. */
  private recordedRoom(): RecordedRoom {
    const m = this.options.media.current;
    return {
      self: { sid: this.state.get().selfSid ?? "", name: this.displayName, video: m.video, cameraOn: m.cameraOn, screen: m.screen, audio: m.audio, micOn: m.micOn },
      participants: this.state.get().participants,
    };
  }

  /** Starts recording the meeting (docs/web-client.md, "Recording"): `starting` until the
   * recorder really started, then `recording`, and the room is told. */
  startRecording(): void {
    if (this.recorder) return;
    if (typeof MediaRecorder === "undefined" || typeof AudioContext === "undefined") {
      this.state.set({ notice: "Recording is not available in this browser." });
      return;
    }
    try {
      const recorder: MeetingRecorder = new MeetingRecorder(this.recordedRoom(), {
        onStart: () => {
          if (this.recorder !== recorder) return;
          this.state.set({ recording: "recording" });
          this.announceRecording(true);
        },
        onError: (message) => {
          if (this.recorder !== recorder) return;
          this.state.set({ notice: `Recording failed (${message}).` });
          background(this.stopRecording(), "recording");
        },
      });
      this.recorder = recorder;
      this.state.set({ recording: "starting", notice: null });
    } catch {
      this.recorder = null;
      this.state.set({ recording: "off", notice: "Recording is not available in this browser." });
    }
  }

  /** Stops recording; offers the file only when it is a non-empty WebM, else says why not. */
  async stopRecording(): Promise<void> {
    const recorder = this.recorder;
    if (!recorder) return;
    this.recorder = null;
    this.state.set({ recording: "stopping" });
    this.announceRecording(false);
    const blob = await recorder.stop();
    const problem = await recordingProblem(blob);
    const old = this.state.get().recordingUrl;
    if (old) URL.revokeObjectURL(old);
    if (problem) {
      this.state.set({ recording: "off", recordingUrl: null, recordingName: null, notice: problem });
      return;
    }
    const name = recordingFileName(this.meeting.title, recorder.startedAt);
    const url = downloadBlob(blob, name);
    this.state.set({ recording: "off", recordingUrl: url, recordingName: name });
  }

  /** Tells the room that we record, or stopped (best effort: the recording goes on regardless). */
  private announceRecording(active: boolean): void {
    if (this.closed || this.state.get().phase !== "in-call" || !this.signaling.connected) return;
    void this.signaling.request("recording", { meeting_id: this.meeting.meeting_id, active }).catch(() => undefined);
  }

  dismissNotice(): void {
    this.state.set({ notice: null });
  }

  /** Reconnects as after a network failure (debugging and tests). */
  dropConnection(): void {
    this.signaling.dropConnection();
  }

  close(): void {
    if (this.closed) return;
    this.teardown();
    this.notes.dispose();
    const url = this.state.get().recordingUrl;
    if (url) URL.revokeObjectURL(url);
  }

  /** While in the call: what a reload of this tab rejoins with (see ./rejoin). */
  private remember(): void {
    if (this.state.get().phase !== "in-call") return;
    const { micOn, cameraOn } = this.options.media.current;
    saveRejoin(this.meeting.meeting_id, { micOn, cameraOn, displayName: this.options.displayName });
  }

  private isOver(): boolean {
    const phase = this.state.get().phase;
    return phase === "ended" || phase === "left" || phase === "moved" || phase === "removed" || phase === "failed";
  }

  private ended(): void {
    this.finish("ended");
  }

  /** The room is over for this window (no reconnection): the meeting ended, or moved elsewhere. */
  private finish(phase: "ended" | "moved" | "removed"): void {
    if (this.state.get().phase === phase) return;
    forgetRejoin(this.meeting.meeting_id);
    this.teardown();
    this.state.set({ phase });
  }

  private fail(error: string): void {
    forgetRejoin(this.meeting.meeting_id);
    this.teardown();
    this.state.set({ phase: "failed", error });
  }

  private teardown(): void {
    this.closed = true;
    if (this.joinRetry) clearTimeout(this.joinRetry);
    if (this.recorder) background(this.stopRecording(), "recording");
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.mesh.closeAll();
    this.ice.stop();
    this.signaling.close();
    for (const timer of this.reactionTimers) clearTimeout(timer);
    this.reactionTimers.clear();
    this.state.set({ participants: [], hands: [], spotlight: null, reactions: [], recordings: [] });
  }
}
