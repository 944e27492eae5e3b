import type { EpochMs } from './timestamp.js';

export const MS_PER_DAY = 86_400_000;

/** The UTC day (days since 1970-01-01, negative before) that a point at `ms` is stored under. */
export function dayBucket(ms: EpochMs): number {
  return Math.floor(ms / MS_PER_DAY);
}
