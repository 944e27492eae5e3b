/**
 * What one request's work is bounded by: a deadline, and a signal that fires when
 * the work no longer matters (the deadline passed or the client went away). The
 * services check it before each statement they send, and stop waiting once it fires.
 */
import type { EpochMs } from './time/units.js';

export interface WorkScope {
  /** Fires with the MeetrError the request is answered with. */
  readonly signal: AbortSignal;
  /** Wall-clock time by which the request is answered, one way or the other. */
  readonly deadlineMs: EpochMs;
}

/** A scope that never ends: for tools and tests that are not serving a request. */
export const UNBOUNDED: WorkScope = { signal: new AbortController().signal, deadlineMs: Number.MAX_SAFE_INTEGER };

/** Throws the signal's reason if it fired. */
export function checkScope(scope: WorkScope): void {
  if (scope.signal.aborted) throw scope.signal.reason;
}

/**
 * `work`'s outcome, or the signal's reason as soon as it fires, whichever comes
 * first. Work still running then goes on unobserved; its failure is swallowed.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
