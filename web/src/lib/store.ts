import { useEffect, useState } from "preact/hooks";

/** A small observable value: the non-UI classes hold their state in one, screens read it with useStore. */
export class Store<T extends object> {
  private readonly listeners = new Set<(value: T) => void>();

  constructor(private value: T) {}

  get(): T {
    return this.value;
  }

  set(update: Partial<T> | ((value: T) => Partial<T>)): void {
    const patch = typeof update === "function" ? update(this.value) : update;
    this.value = { ...this.value, ...patch };
    for (const listener of [...this.listeners]) listener(this.value);
  }

  subscribe(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Re-renders the component whenever the store changes. */
export function useStore<T extends object>(store: Store<T>): T {
  const [value, setValue] = useState(() => store.get());
  useEffect(() => {
    setValue(store.get());
    return store.subscribe(setValue);
  }, [store]);
  return value;
}
