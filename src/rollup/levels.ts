/**
 * The rollup levels and how a range is covered by them.
 *
 * Every metric has aggregates per 15 minutes (the base: every UTC offset in use
 * today is a whole number of quarter hours, so every zone's hours and days fall on
 * it), and per hour and UTC day above it. A range is covered by the coarsest clean
 * buckets that fit inside it; quarters holding a dirty minute (written since the
 * roller last looked) and the partial quarters at the edges are read as points,
 * which come from sealed chunks where an hour is sealed (storage/sealed-reads.ts).
 * Minutes have rows only in dense quarters (MINUTE below): for a scraped series a
 * minute row cost about as many bytes as the points it summarised, and a quarter
 * of points is one read (docs/BENCHMARKS.md).
 */
import type { PartialAggregate } from '../domain/aggregate.js';
import { MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, type EpochMs } from '../time/units.js';
import { firstAtOrAfter } from '../time/windows.js';

export const LEVEL_NAMES = ['15m', '1h', '1d'] as const;
export type LevelName = (typeof LEVEL_NAMES)[number];

export interface Level {
  readonly name: LevelName | '1m';
  /** Whose retention its rows keep (MEETR_RETENTION_*). */
  readonly retainedAs: LevelName;
  readonly ms: number;
  /**
   * UTC days per storage partition: each level's partitions hold about 1,500 rows,
   * so a year at 1h is 6 partitions and a year of days is one.
   */
  readonly periodDays: number;
}

export const QUARTER: Level = { name: '15m', retainedAs: '15m', ms: 15 * MS_PER_MINUTE, periodDays: 16 };
export const HOUR: Level = { name: '1h', retainedAs: '1h', ms: MS_PER_HOUR, periodDays: 64 };
export const DAY: Level = { name: '1d', retainedAs: '1d', ms: MS_PER_DAY, periodDays: 1024 };

/**
 * Minutes, of dense quarters only: a quarter of at least DENSE_QUARTER_POINTS
 * points also has a row per minute that holds points, written by the roller before
 * the quarter's row (roller/day-roll.ts). Buckets finer than a quarter over a dense
 * metric read 15 rows a quarter instead of adding up every point, and the roller
 * recomputes only a dense quarter's queued minutes from their points. Kept as long
 * as quarters. Not a level of coverRange: a quarter's stored row says whether its
 * minutes have rows (query/search-plan.ts).
 */
export const MINUTE: Level = { name: '1m', retainedAs: '15m', ms: MS_PER_MINUTE, periodDays: 1 };

/** Points from which a quarter also has minute rows: one a second on average. */
export const DENSE_QUARTER_POINTS = 900;

/** Whether a quarter's stored row says it has minute rows. */
export function isDense(quarter: PartialAggregate | undefined): boolean {
  return quarter !== undefined && quarter.count >= DENSE_QUARTER_POINTS;
}

/** Finest first. */
export const LEVELS: readonly Level[] = [QUARTER, HOUR, DAY];

/** The storage partition of the bucket starting at `start`. */
export function periodOf(level: Level, start: EpochMs): number {
  return Math.floor(start / (level.periodDays * MS_PER_DAY));
}

/** The first instant of a partition. */
export function periodStart(level: Level, period: number): EpochMs {
  return period * level.periodDays * MS_PER_DAY;
}

/** The bucket of `level` that holds `ms`. */
export function bucketStart(level: Level, ms: EpochMs): EpochMs {
  return Math.floor(ms / level.ms) * level.ms;
}

/** Whole rollup buckets of one level used as they are: [fromMs, toMs), both multiples of the level. */
export interface RollupSpan {
  readonly level: Level;
  readonly fromMs: EpochMs;
  readonly toMs: EpochMs;
}

/** A stretch read from raw points: [fromMs, toMs), half-open. */
export interface RawSpan {
  readonly fromMs: EpochMs;
  readonly toMs: EpochMs;
}

export interface Cover {
  readonly spans: RollupSpan[];
  readonly raw: RawSpan[];
}

/**
 * Covers [fromMs, toMs) (half-open) with the coarsest rollup buckets that lie inside
 * it and hold no dirty minute, as runs of consecutive buckets of one level; quarters
 * holding a dirty minute and the partial quarters at the edges go to `raw`, adjacent
 * spans merged.
 * `dirty` is ascending epoch minutes (ms / 60,000). The work is proportional to the
 * dirty minutes and the levels, not to the length of the range: ten thousand years
 * are one span of days.
 */
export function coverRange(
  fromMs: EpochMs,
  toMs: EpochMs,
  dirty: readonly number[],
  into: Cover = { spans: [], raw: [] },
): Cover {
  const addRaw = (from: EpochMs, to: EpochMs): void => {
    if (from >= to) return;
    const last = into.raw[into.raw.length - 1];
    if (last !== undefined && last.fromMs <= from && last.toMs === from)
      into.raw[into.raw.length - 1] = { fromMs: last.fromMs, toMs: to };
    else into.raw.push({ fromMs: from, toMs: to });
  };
  /** The start of the first dirty minute at or after `at`, or Infinity. */
  const nextDirty = (at: EpochMs): number => {
    const index = firstAtOrAfter(dirty, at / MS_PER_MINUTE);
    return index < dirty.length ? dirty[index]! * MS_PER_MINUTE : Infinity;
  };
  const aligned = (from: EpochMs, to: EpochMs, levelIndex: number): void => {
    if (from >= to) return;
    if (levelIndex < 0) return addRaw(from, to);
    const level = LEVELS[levelIndex]!;
    const start = Math.ceil(from / level.ms) * level.ms;
    const end = Math.floor(to / level.ms) * level.ms;
    if (start >= end) return aligned(from, to, levelIndex - 1);
    aligned(from, start, levelIndex - 1);
    for (let at = start; at < end;) {
      // Every bucket before the one holding the next dirty minute is clean: one span.
      const clean = Math.min(end, Math.floor(nextDirty(at) / level.ms) * level.ms);
      if (clean > at) {
        into.spans.push({ level, fromMs: at, toMs: clean });
        at = clean;
      }
      if (at < end) {
        aligned(at, at + level.ms, levelIndex - 1);
        at += level.ms;
      }
    }
    aligned(end, to, levelIndex - 1);
  };
  aligned(fromMs, toMs, LEVELS.length - 1);
  return into;
}
