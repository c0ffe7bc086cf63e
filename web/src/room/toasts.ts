import { Store } from "../lib/store";

/** How long a toast stays on screen. */
export const TOAST_MS = 4_000;

export interface Toast {
  /** Tells two equal toasts apart. */
  id: number;
  text: string;
  kind: "joined" | "left";
}

/** Who came and who went between two views of the room (user id → name). Keyed by user, not
 * by socket: a participant taken over by another tab of the same user, or resumed under a
 * new id, neither left nor joined. */
export function rosterChanges(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): { joined: string[]; left: string[] } {
  return {
    joined: [...after].filter(([id]) => !before.has(id)).map(([, name]) => name),
    left: [...before].filter(([id]) => !after.has(id)).map(([, name]) => name),
  };
}

interface Timers {
  setTimeout: (fn: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** The toasts on screen: each goes after `ttl` ms; at most `max` at once (the oldest go first). */
export class ToastQueue {
  readonly state = new Store<{ toasts: Toast[] }>({ toasts: [] });
  private ids = 0;
  private readonly timers = new Map<number, unknown>();

  constructor(
    private readonly ttl = TOAST_MS,
    private readonly max = 4,
    private readonly clock: Timers = realTimers,
  ) {}

  show(text: string, kind: Toast["kind"]): void {
    const toast = { id: ++this.ids, text, kind };
    const all = [...this.state.get().toasts, toast];
    for (const gone of all.slice(0, Math.max(0, all.length - this.max))) this.forget(gone.id);
    this.state.set({ toasts: all.slice(-this.max) });
    this.timers.set(toast.id, this.clock.setTimeout(() => this.dismiss(toast.id), this.ttl));
  }

  dismiss(id: number): void {
    this.forget(id);
    this.state.set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) }));
  }

  close(): void {
    for (const id of [...this.timers.keys()]) this.forget(id);
    this.state.set({ toasts: [] });
  }

  private forget(id: number): void {
    const timer = this.timers.get(id);
    if (timer !== undefined) this.clock.clearTimeout(timer);
    this.timers.delete(id);
  }
}
