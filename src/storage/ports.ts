import type { PartialAggregate } from '../domain/aggregate.js';
import type { Point } from '../domain/point.js';
import type { EpochMs } from '../time/units.js';

/** The write side. Every method is idempotent, safe to retry whole. */
export interface PointWriter {
  /** Records that `metricId` has points on each of `days` (UTC day buckets). */
  markDays(metricId: string, days: readonly number[]): Promise<void>;
  /** Upserts points that all share `metricId` and the UTC day bucket `day`. */
  writePartition(metricId: string, day: number, points: readonly Point[]): Promise<void>;
  /** Deletes the cached summaries of `days` as of `atMs`: any summary stored with an earlier as-of time stays hidden. */
  invalidateDaySummaries(metricId: string, days: readonly number[], atMs: EpochMs): Promise<void>;
}

/** A day on which a metric has points, with its cached whole-day summary if one is valid. */
export interface DayEntry {
  readonly day: number;
  readonly summary: PartialAggregate | undefined;
}

/** The read side, and the cache of whole-day summaries it maintains. */
export interface RangeReader {
  /** UTC day buckets in [fromDay, toDay] on which `metricId` has points, ascending, with their summaries. */
  daysWithPoints(metricId: string, fromDay: number, toDay: number): Promise<DayEntry[]>;
  /** count/sum/min/max of the points of one day partition with fromMs <= ts <= toMs, computed by Cassandra. */
  aggregateDay(metricId: string, day: number, fromMs: EpochMs, toMs: EpochMs): Promise<PartialAggregate>;
  /**
   * Calls `visit` for every point of one day partition with fromMs <= ts <= toMs, in
   * ascending ts order, page by page (never the whole partition in memory). Returns how many.
   */
  scanPoints(metricId: string, day: number, fromMs: EpochMs, toMs: EpochMs, visit: (ts: EpochMs, value: number) => void): Promise<number>;
  /** Caches whole days' aggregates, computed from reads that began after `asOfMs`. */
  saveDaySummaries(metricId: string, summaries: ReadonlyArray<{ readonly day: number; readonly summary: PartialAggregate }>, asOfMs: EpochMs): Promise<void>;
}

/** Whether storage can serve right now. */
export interface StorageHealth {
  isReady(): boolean;
}

/** Everything the services need from storage, as one implementation provides it. */
export interface Storage {
  readonly writer: PointWriter;
  readonly reader: RangeReader;
  readonly health: StorageHealth;
}
