/**
 * Runs `task` over `items` with at most `limit` in flight. Rejects with the first
 * failure; after a failure no new task starts, and the ones already running are
 * awaited so nothing is left running (or rejecting) unobserved.
 */
export async function forEachBounded<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await task(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure !== undefined) throw failure.error;
}

/** Waits for every promise to settle, then rejects with the first failure: nothing is left running unobserved. */
export async function settleAll(promises: ReadonlyArray<Promise<unknown>>): Promise<void> {
  const failed = (await Promise.allSettled(promises)).find((result) => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
