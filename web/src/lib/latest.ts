/** What `latestOnly`'s loads give when a later load began before they settled. */
export const STALE = Symbol("stale");

/**
 * Runs loads of one thing so that only the latest one's outcome counts: `latest(load)` gives
 * the load's value (or throws its error) when no later load began meanwhile, else `STALE`. A
 * page that loads again on every change so shows the newest state, whatever order the
 * answers come back in.
 */
export function latestOnly(): <T>(load: () => Promise<T>) => Promise<T | typeof STALE> {
  let newest = 0;
  return async <T>(load: () => Promise<T>) => {
    const mine = ++newest;
    try {
      const value = await load();
      return mine === newest ? value : STALE;
    } catch (error) {
      if (mine !== newest) return STALE;
      throw error;
    }
  };
}
