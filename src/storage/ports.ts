import type { PartialAggregate } from '../domain/aggregate.js';
import type { Point } from '../domain/point.js';
import type { EpochMs } from '../time/timestamp.js';

/** The write side. Every method is an idempotent upsert, safe to retry whole. */
export interface PointWriter {
  /** Records that `metricId` has points on each of `days` (UTC day buckets). */
  markDays(metricId: string, days: readonly number[]): Promise<void>;
  /** Upserts points that all share `metricId` and the UTC day bucket `day`. */
  writePartition(metricId: string, day: number, points: readonly Point[]): Promise<void>;
}

/** The read side. */
export interface RangeReader {
  /** UTC day buckets in [fromDay, toDay] on which `metricId` has points, ascending. */
  daysWithPoints(metricId: string, fromDay: number, toDay: number): Promise<number[]>;
  /** count/sum/min/max of the points of one day partition with fromMs <= ts <= toMs, computed by Cassandra. */
  aggregateDay(metricId: string, day: number, fromMs: EpochMs, toMs: EpochMs): Promise<PartialAggregate>;
}

/** Whether storage can serve right now. */
export interface StorageHealth {
  isReady(): boolean;
}
