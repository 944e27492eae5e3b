import type { EpochMs } from '../time/units.js';

/** One stored measurement. `(metricId, ts)` is its identity: writing it again overwrites `value`. */
export interface Point {
  readonly metricId: string;
  readonly ts: EpochMs;
  readonly value: number;
}

export const MAX_METRIC_ID_LENGTH = 255;

/** A (metric, UTC day) partition as one map key. */
export function partitionKey(metricId: string, day: number): string {
  return `${day}\u0000${metricId}`;
}
