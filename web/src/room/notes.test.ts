import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Api } from "../api";
import type { Notes } from "../api/types";
import { NotesStore } from "./notes";

function fakeApi(options: { failSaves?: number; initial?: string } = {}) {
  const saves: string[] = [];
  let failures = options.failSaves ?? 0;
  const api = {
    chat: {
      notes: vi.fn(async (): Promise<Notes> => ({ meeting_id: "m", text: options.initial ?? "", updated_at: options.initial ? "2026-01-01T00:00:00Z" : null })),
      saveNotes: vi.fn(async (_id: string, text: string): Promise<Notes> => {
        await new Promise((r) => setTimeout(r, 50));
        if (failures > 0) {
          failures -= 1;
          throw new Error("down");
        }
        saves.push(text);
        return { meeting_id: "m", text, updated_at: "2026-01-01T00:00:01Z" };
      }),
    },
  } as unknown as Api;
  return { api, saves };
}

describe("NotesStore", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("saves once typing pauses, with the latest text, then says Saved", async () => {
    const { api, saves } = fakeApi();
    const notes = new NotesStore(api, "m", 500);
    await notes.load();
    expect(notes.state.get().status).toBe("idle");
    notes.edit("h");
    await vi.advanceTimersByTimeAsync(200);
    notes.edit("he");
    await vi.advanceTimersByTimeAsync(200);
    notes.edit("hello");
    expect(saves).toEqual([]);
    await vi.advanceTimersByTimeAsync(500);
    expect(notes.state.get().status).toBe("saving");
    await vi.advanceTimersByTimeAsync(50);
    expect(saves).toEqual(["hello"]);
    expect(notes.state.get().status).toBe("saved");
  });

  it("saves edits made during a save right after it", async () => {
    const { api, saves } = fakeApi();
    const notes = new NotesStore(api, "m", 100);
    await notes.load();
    notes.edit("one");
    await vi.advanceTimersByTimeAsync(110); // saving "one"
    notes.edit("one two");
    expect(notes.state.get().status).toBe("idle");
    await vi.advanceTimersByTimeAsync(500);
    expect(saves).toEqual(["one", "one two"]);
    expect(notes.state.get().status).toBe("saved");
  });

  it("retries a failed save and reports the failure meanwhile", async () => {
    const { api, saves } = fakeApi({ failSaves: 1 });
    const notes = new NotesStore(api, "m", 100);
    await notes.load();
    notes.edit("keep me");
    await vi.advanceTimersByTimeAsync(200);
    expect(notes.state.get().status).toBe("error");
    await vi.advanceTimersByTimeAsync(3_100);
    expect(saves).toEqual(["keep me"]);
    expect(notes.state.get().status).toBe("saved");
  });

  it("loads the saved notes, and does not save them back unchanged", async () => {
    const { api, saves } = fakeApi({ initial: "from before" });
    const notes = new NotesStore(api, "m", 100);
    await notes.load();
    expect(notes.state.get()).toMatchObject({ text: "from before", status: "saved" });
    notes.edit("from before!");
    notes.edit("from before");
    await vi.advanceTimersByTimeAsync(300);
    expect(saves).toEqual([]);
    expect(notes.state.get().status).toBe("saved");
  });

  it("flushes pending text immediately", async () => {
    const { api, saves } = fakeApi();
    const notes = new NotesStore(api, "m", 10_000);
    await notes.load();
    notes.edit("now");
    const flushed = notes.flush();
    await vi.advanceTimersByTimeAsync(60);
    await flushed;
    expect(saves).toEqual(["now"]);
  });
});
