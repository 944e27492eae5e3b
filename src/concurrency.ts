import { setImmediate as nextTurn } from 'node:timers/promises';
import { checkScope, type WorkScope } from './work-scope.js';

/**
 * Runs `task` over `items` with at most `limit` in flight. Rejects with the first
 * failure; after a failure no new task starts, and the ones already running are
 * awaited so nothing is left running (or rejecting) unobserved.
 */
export async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
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

/** Turns at something scarce: take one (waiting if need be), call the release it gives when done. */
export interface Turns {
  take(scope: WorkScope): Promise<() => void>;
}

/** At most `limit` holders at once, at most `maxWaiting` waiting (first come first served); more are shed with `shed`'s error. */
export function createTurns(limit: number, maxWaiting: number, shed: (waiting: number) => Error): Turns {
  let running = 0;
  const waiting: Array<{ grant: () => void }> = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next === undefined) running--;
    else next.grant();
  };
  return {
    take(scope: WorkScope): Promise<() => void> {
      checkScope(scope);
      if (running < limit) {
        running++;
        return Promise.resolve(release);
      }
      if (waiting.length >= maxWaiting) {
        return Promise.reject(shed(waiting.length));
      }
      return new Promise((resolve, reject) => {
        const entry = {
          grant: () => {
            scope.signal.removeEventListener('abort', onAbort);
            resolve(release);
          },
        };
        const onAbort = (): void => {
          waiting.splice(waiting.indexOf(entry), 1);
          reject(scope.signal.reason);
        };
        scope.signal.addEventListener('abort', onAbort, { once: true });
        waiting.push(entry);
      });
    },
  };
}

/** How long a long read or evaluation runs before it gives the event loop back. */
export const YIELD_MS = 20;

/** Items of a long loop between two looks at a yielder's clock (createYielder): cheap enough to count, often enough to pause. */
export const PAUSE_EVERY = 512;

/**
 * For long synchronous work: call the function it returns between units of work; it
 * gives the event loop back once `everyMs` have passed since it last did, and
 * resolves true when it did.
 */
export function createYielder(everyMs: number): () => Promise<boolean> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < everyMs) return false;
    await nextTurn();
    since = performance.now();
    return true;
  };
}
