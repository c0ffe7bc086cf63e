/** Runs a promise nobody awaits, logging its failure instead of leaving it unhandled. */
export function background(promise: Promise<unknown> | undefined, what: string): void {
  promise?.catch((err) => console.warn(`parley: ${what} failed`, err));
}
