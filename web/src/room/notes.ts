import type { Api } from "../api";
import { Store } from "../lib/store";

export type NotesStatus = "loading" | "unavailable" | "idle" | "saving" | "saved" | "error";

export interface NotesState {
  text: string;
  status: NotesStatus;
  updatedAt: string | null;
}

export const SAVE_DELAY_MS = 700;
const RETRY_MS = 3_000;

/**
 * Private notes of one meeting, saved as you type: every edit (re)starts a short timer, and
 * when typing pauses the latest text is PUT. One save at a time; edits made during a save are
 * saved right after it. "Saved" means the server has exactly what is on screen.
 */
export class NotesStore {
  readonly state = new Store<NotesState>({ text: "", status: "loading", updatedAt: null });
  private timer: ReturnType<typeof setTimeout> | null = null;
  private saving: Promise<void> | null = null;
  private savedText = "";
  private edited = false;
  private disposed = false;

  constructor(
    private readonly api: Api,
    private readonly meetingId: string,
    private readonly delayMs = SAVE_DELAY_MS,
  ) {}

  async load(): Promise<void> {
    try {
      const notes = await this.api.chat.notes(this.meetingId);
      this.savedText = notes.text;
      // Keep what the user typed while the notes were loading.
      if (!this.edited) this.state.set({ text: notes.text, status: notes.updated_at ? "saved" : "idle", updatedAt: notes.updated_at });
      else this.state.set({ status: "idle" });
    } catch {
      // Typing still saves (and says so if that fails too).
      if (!this.edited) this.state.set({ status: "unavailable" });
    }
  }

  edit(text: string): void {
    this.edited = true;
    this.state.set({ text, status: text === this.savedText ? "saved" : "idle" });
    this.schedule(this.delayMs);
  }

  /** Saves now (the panel closes, the page leaves). */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.save();
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.state.get().text !== this.savedText) void this.save();
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.save();
    }, ms);
  }

  private async save(): Promise<void> {
    if (this.saving) {
      await this.saving;
      return this.save();
    }
    const text = this.state.get().text;
    if (text === this.savedText) {
      const status = this.state.get().status;
      if (status !== "loading" && status !== "unavailable") this.state.set({ status: "saved" });
      return;
    }
    this.state.set({ status: "saving" });
    this.saving = (async () => {
      try {
        const notes = await this.api.chat.saveNotes(this.meetingId, text);
        this.savedText = text;
        const current = this.state.get().text;
        this.state.set({ status: current === text ? "saved" : "idle", updatedAt: notes.updated_at });
        if (current !== text && !this.disposed) this.schedule(0);
      } catch {
        this.state.set({ status: "error" });
        if (!this.disposed) this.schedule(RETRY_MS);
      } finally {
        this.saving = null;
      }
    })();
    await this.saving;
  }
}
