import { MS_PER_DAY, MS_PER_MINUTE, type EpochMs } from './units.js';

/** The UTC day (days since 1970-01-01, negative before) that a point at `ms` is stored under. */
export function dayBucket(ms: EpochMs): number {
  return Math.floor(ms / MS_PER_DAY);
}

/** First millisecond of a UTC day bucket. */
export function dayStartMs(day: number): EpochMs {
  return day * MS_PER_DAY;
}

/** Last millisecond of a UTC day bucket (inclusive). */
export function dayEndMs(day: number): EpochMs {
  return (day + 1) * MS_PER_DAY - 1;
}

/**
 * How long after its UTC end a day still counts as open. Writes to open days are
 * the common case (live data) and never have to invalidate a summary, because no
 * summary exists for an open day. Must exceed any write's duration plus clock skew.
 */
export const CLOSED_DAY_GRACE_MS = 10 * MS_PER_MINUTE;

/** Whether `day` is closed at `nowMs`: only closed days get cached summaries. */
export function isClosedDay(day: number, nowMs: EpochMs): boolean {
  return dayEndMs(day) + CLOSED_DAY_GRACE_MS < nowMs;
}
