/**
 * A queue that runs asynchronous tasks one after another, in the order they were queued: each
 * starts once the one before has settled (fulfilled or rejected), and its own result or error
 * is what the returned promise gives.
 *
 * Chat and direct messages send through one, so that messages typed quickly one after another
 * are stored in that order: two POSTs in flight at once can reach two chat replicas and be
 * stored the other way round.
 */
export function inOrder(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>) => {
    const run = tail.then(task, task);
    tail = run.catch(() => undefined);
    return run;
  };
}
