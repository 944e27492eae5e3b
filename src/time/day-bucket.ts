import { MS_PER_DAY, type EpochMs } from './units.js';

/** The UTC day (days since 1970-01-01, negative before) of `ms`: what the roll queue and minute rows are kept by. */
export function dayBucket(ms: EpochMs): number {
  return Math.floor(ms / MS_PER_DAY);
}

/** First millisecond of a UTC day bucket. */
export function dayStartMs(day: number): EpochMs {
  return day * MS_PER_DAY;
}

/** Last millisecond of a UTC day bucket. */
export function dayEndMs(day: number): EpochMs {
  return dayStartMs(day + 1) - 1;
}
