import type { PartialAggregate } from '../domain/aggregate.js';
import type { Point } from '../domain/point.js';
import type { EpochMs } from '../time/units.js';

/**
 * A point with the write time it is stored under (microseconds since the epoch):
 * the time its request arrived. Of two writes of one (metric, ts), the later
 * write time wins whatever order they land in, so a replayed old request never
 * overwrites a newer one.
 */
export interface StampedPoint extends Point {
  readonly writeTimeUs: number;
}

/**
 * Most days one markDays, holdDaySummaries or saveDaySummaries call writes in one
 * statement (one single-partition batch of about 6 KiB); a call with more runs
 * several, one after the other. Callers that count statements split by it.
 */
export const DAYS_PER_STATEMENT = 100;

/** The write side. Every method is idempotent, safe to retry whole. */
export interface PointWriter {
  /** Records that `metricId` has points on each of `days` (UTC day buckets). */
  markDays(metricId: string, days: readonly number[]): Promise<void>;
  /** Upserts points that all share `metricId` and the UTC day bucket `day`, each under its own write time. */
  writePartition(metricId: string, day: number, points: readonly StampedPoint[]): Promise<void>;
  /**
   * Declares that writes to `days` may land until `untilMs`: no summary of those days
   * computed from a read that began before `untilMs` is valid. Holds only ever
   * lengthen: of two holds the later `untilMs` stands, whatever order they land in.
   */
  holdDaySummaries(metricId: string, days: readonly number[], untilMs: EpochMs): Promise<void>;
}

/** A day on which a metric has points, with its cached whole-day summary if one is valid. */
export interface DayEntry {
  readonly day: number;
  readonly summary: PartialAggregate | undefined;
  /** Summaries of this day are valid only when computed from reads that began after this (see holdDaySummaries). */
  readonly heldUntilMs: EpochMs | undefined;
}

/** The read side, and the cache of whole-day summaries it maintains. */
export interface RangeReader {
  /**
   * Calls `visit` for each UTC day bucket in [fromDay, toDay] on which `metricId` has
   * points, ascending, with its summary, reading the index page by page (never all
   * of it in memory). An exception thrown by `visit` stops the reading.
   */
  forEachDay(metricId: string, fromDay: number, toDay: number, visit: (entry: DayEntry) => void): Promise<void>;
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
