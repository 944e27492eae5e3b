import type { PartialAggregate } from '../domain/aggregate.js';
import { fnv1a, type Point, type SpecialValue } from '../domain/point.js';
import type { Level } from '../rollup/levels.js';
import type { EpochMs } from '../time/units.js';
import { compareText } from '../domain/series.js';

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
 * Minutes of one metric and UTC day that were written to: the roller recomputes
 * their rollups. `minutes` are minutes of the day (0-1439).
 */
export interface DirtyDay {
  readonly metricId: string;
  readonly day: number;
  readonly minutes: readonly number[];
}

/** One metric's dirty minutes of one UTC day (minutes of the day, ascending). */
export interface DayMinutes {
  day: number;
  minutes: number[];
}

/** Most dirty days one markDirty statement (one single-partition batch) carries; more, or more than WRITE_BYTES, run as several (dirtyDayChunks). */
export const DIRTY_DAYS_PER_STATEMENT = 100;

/** Dirty days cut into the statements markDirty runs. */
export function dirtyDayChunks<T extends DirtyDay>(days: readonly T[]): T[][] {
  return chunksWithin(days, DIRTY_DAYS_PER_STATEMENT, (d) => 3 * d.metricId.length + 16 + 4 * d.minutes.length);
}

/** `list` in order, cut into chunks of at most `maxItems` items and, beyond a chunk's first item, WRITE_BYTES by `bytesOf`. */
export function chunksWithin<T>(list: readonly T[], maxItems: number, bytesOf: (item: T) => number): T[][] {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let bytes = 0;
  for (const item of list) {
    const size = bytesOf(item);
    if (chunk.length > 0 && (chunk.length === maxItems || bytes + size > WRITE_BYTES)) {
      chunks.push(chunk);
      [chunk, bytes] = [[], 0];
    }
    chunk.push(item);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/**
 * A series in the catalogue: its metric id, its name (domain/series.ts), and the
 * UTC days (since the epoch) its points span, as far as they were recorded.
 */
export interface CatalogueEntry {
  readonly metricId: string;
  readonly name: string;
  readonly firstDay: number;
  readonly lastDay: number;
}

/** The catalogue's shards of names: a listing reads this many partitions. */
export const CATALOGUE_SHARDS = 16;

/** The catalogue shard of a series name. */
export function catalogueShardOf(name: string): number {
  return fnv1a(name) % CATALOGUE_SHARDS;
}

/** Points per single-partition write: one unlogged batch of about 4 KiB, under Cassandra's 5 KiB batch warning. */
export const POINTS_PER_WRITE = 100;

/**
 * Most bytes of one batch statement, as its rows' upper bounds add up (each
 * character counted as 3 bytes of UTF-8): below Cassandra's batch_size_fail_threshold
 * (50 KiB by default) whatever the metric ids, so no batch is ever refused for its size.
 */
export const WRITE_BYTES = 32 * 1024;

/** An upper bound of the bytes a share of a partition adds to a write: its key, and each point's clustering, value and stamps. */
export function partitionShareBytes(metricId: string, points: number): number {
  return 3 * metricId.length + 8 + 40 * points;
}

/** Points of one raw partition, as a write across partitions carries them. */
export interface PartitionShare {
  readonly metricId: string;
  readonly partition: number;
  readonly points: readonly StampedPoint[];
}

/** Most catalogue entries one recordSeries statement (an unlogged batch of one shard, two rows an entry) carries. */
export const SERIES_PER_STATEMENT = 100;

/** Catalogue entries cut into the statements recordSeries runs: at most SERIES_PER_STATEMENT and WRITE_BYTES each. */
export function seriesChunks<T extends CatalogueEntry>(entries: readonly T[]): T[][] {
  return chunksWithin(entries, SERIES_PER_STATEMENT, (e) => 2 * (3 * (e.name.length + e.metricId.length) + 40));
}

/** The write side. Every method is idempotent, safe to retry whole. */
export interface PointWriter {
  /**
   * Upserts points that all share `metricId` and the raw partition `partition`
   * (samplePartition of their ts), each under its own write time. Points older
   * than the raw retention are given the time they have left (rollup/retention.ts).
   */
  writePartition(metricId: string, partition: number, points: readonly StampedPoint[]): Promise<void>;
  /**
   * As writePartition for each share, in one statement (an unlogged batch across
   * partitions, at most POINTS_PER_WRITE points and WRITE_BYTES): a request over many
   * series of a point or two each costs one round trip per hundred of them, not one
   * per series. It lands whole or fails whole only on one node; callers treat a failure
   * as leaving each share's fate unknown, as for any failed write.
   */
  writePartitions(shares: readonly PartitionShare[]): Promise<void>;
  /** Queues dirty days for the roller in one shard's slot (roll-queue.ts). */
  markDirty(shard: number, slot: number, days: readonly DirtyDay[]): Promise<void>;
  /**
   * Records series of one catalogue shard (at most SERIES_PER_STATEMENT, one
   * statement): each entry widens its stored day span, never narrows it.
   */
  recordSeries(shard: number, entries: readonly CatalogueEntry[]): Promise<void>;
  /** Records special samples (NaN, ±Inf, staleness markers) of one metric and UTC day, under a write time (µs). */
  writeSpecialSamples(
    metricId: string,
    day: number,
    samples: readonly SpecialValue[],
    writeTimeUs: number,
  ): Promise<void>;
}

/** Where a catalogue listing resumes: after this (name, metric id) of a shard. */
export interface CatalogueKey {
  readonly name: string;
  readonly metricId: string;
}

/** Catalogue order within a shard: by name, then metric id (code units, as Cassandra orders ASCII text). */
export function compareCatalogueKeys(a: CatalogueKey, b: CatalogueKey): number {
  return compareText(a.name, b.name) || compareText(a.metricId, b.metricId);
}

/** Which entries of a catalogue shard a listing reads: those after `after`, named `name` and named before `before`, each when given. */
export interface CatalogueSlice {
  readonly name?: string;
  readonly after?: CatalogueKey;
  readonly before?: string;
}

/** The catalogue's read side. */
export interface SeriesReader {
  /** Up to `limit` entries of one shard in (name, metric id) order, of `slice`. */
  listSeries(shard: number, limit: number, slice?: CatalogueSlice): Promise<CatalogueEntry[]>;
}

/** A stored rollup row: the aggregate of one bucket. */
export interface RollupRow {
  readonly start: EpochMs;
  readonly aggregate: PartialAggregate;
}

/** One sealed hour of a series: its points as one chunk (domain/chunk-codec.ts). */
export interface SealedChunk {
  /** The hour (samplePartition) it holds. */
  readonly hour: number;
  readonly bytes: Uint8Array;
  /** Whether it is plain (roller/hour-seal.ts isPlain); undefined when sealed before that was recorded. */
  readonly plain?: boolean;
}

export type SeriesChunk = SealedChunk & { readonly metricId: string };

/** Whether a sealed hour is plain, without its chunk. */
export type ChunkMark = Pick<SealedChunk, 'hour' | 'plain'>;

/** Metric ids one queuedFor call asks about at most (one statement). */
export const METRICS_PER_QUEUE_READ = 100;

/** Slots one queuedFor call reads at most (one statement, as many partitions). */
export const SLOTS_PER_QUEUE_READ = 16;

/** The read side. */
export interface RangeReader {
  /** The first slot of `shard` the roller has not finished: every earlier slot's days are rolled. */
  rolledThrough(shard: number): Promise<number>;
  /** The dirty days of several metrics (at most METRICS_PER_QUEUE_READ) queued in some slots (at most SLOTS_PER_QUEUE_READ) of a shard, any day. */
  queuedFor(shard: number, slots: readonly number[], metricIds: readonly string[]): Promise<DirtyDay[]>;
  /** Each series' sealed chunks in one chunk partition (chunkPeriod) with fromHour <= hour < toHour, ascending per series; at most SERIES_PER_CHUNK_READ series. */
  readChunks(metricIds: readonly string[], period: number, fromHour: number, toHour: number): Promise<SeriesChunk[]>;
  /** The sealed chunks of one chunk partition at `hours` (at most CHUNK_HOURS_PER_READ, ascending), ascending. */
  readChunksAt(metricId: string, period: number, hours: readonly number[]): Promise<SealedChunk[]>;
  /** The marks of the sealed chunks of one chunk partition with fromHour <= hour < toHour, ascending. */
  readChunkMarks(metricId: string, period: number, fromHour: number, toHour: number): Promise<ChunkMark[]>;
  /** The rollup rows of one storage partition (periodOf) with fromMs <= start < toMs, ascending; buckets without points have none. */
  readRollups(metricId: string, level: Level, period: number, fromMs: EpochMs, toMs: EpochMs): Promise<RollupRow[]>;
  /**
   * Calls `visit` for every point of one raw partition with fromMs <= ts < toMs, in
   * ascending ts order, page by page (never the whole partition in memory). Returns how many.
   */
  scanPoints(
    metricId: string,
    partition: number,
    fromMs: EpochMs,
    toMs: EpochMs,
    visit: (ts: EpochMs, value: number) => void,
  ): Promise<number>;
  /** The special samples of one metric and UTC day with fromMs <= ts < toMs, ascending. */
  specialSamples(metricId: string, day: number, fromMs: EpochMs, toMs: EpochMs): Promise<SpecialValue[]>;
}

/** What the roller needs beyond reading; it queues its own reminders to seal hours (roller/hour-seal.ts). */
export interface RollupStore extends RangeReader, Pick<PointWriter, 'markDirty'> {
  /** Every dirty day queued in one slot of a shard, all metrics. */
  slotDays(shard: number, slot: number): Promise<DirtyDay[]>;
  /**
   * Upserts rollup rows of one storage partition, written as of `asOfUs` (when the
   * reads they were computed from began), so a later computation always wins.
   */
  writeRollups(
    metricId: string,
    level: Level,
    period: number,
    rows: readonly RollupRow[],
    asOfUs: number,
  ): Promise<void>;
  /** Upserts a series' sealed chunks as of `asOfUs` (when their reads began): a later seal wins; batched by partition. */
  writeChunks(metricId: string, chunks: readonly SealedChunk[], asOfUs: number): Promise<void>;
  /** The shard's lease and progress. */
  readShard(shard: number): Promise<ShardState>;
  /** Takes the lease if it is still as `seen` (a lightweight transaction); true when taken. */
  takeShard(shard: number, seen: ShardState, owner: string, untilMs: EpochMs): Promise<boolean>;
  /** Extends a lease this owner holds, and records progress; false when the lease was lost. */
  keepShard(shard: number, owner: string, untilMs: EpochMs, nextSlot: number): Promise<boolean>;
  /** Says this roller is alive for `ttlSeconds`. */
  announceRoller(owner: string, ttlSeconds: number): Promise<void>;
  /** Says this roller has stopped: the others count it out at once, not when its announcement runs out. */
  withdrawRoller(owner: string): Promise<void>;
  /** The rollers alive (announced recently). */
  liveRollers(): Promise<string[]>;
}

export interface ShardState {
  readonly owner: string;
  readonly leaseUntilMs: EpochMs;
  readonly nextSlot: number;
}

/** Whether storage can serve right now. */
export interface StorageHealth {
  isReady(): boolean;
  /** Cassandra's clock (a coordinator's now()), ms since the epoch. */
  serverTimeMs(): Promise<EpochMs>;
  /** Where Cassandra keeps data and commit log and its disk policies, when the store has disks. */
  diskSettings?(): Promise<DiskSettings>;
}

/** As Cassandra reports them (system_views.settings). */
export interface DiskSettings {
  readonly dataDirectories: readonly string[];
  readonly commitLogDirectory: string;
  readonly diskFailurePolicy: string;
  readonly commitFailurePolicy: string;
}

/**
 * The one lease a write over very many series holds while it runs, across every
 * worker (ingest-service.ts, MEETR_LARGE_WRITE_PARTITIONS): two such writes at once
 * would each take twice as long, and both could miss their deadline.
 */
export interface LargeWriteLease {
  /** Takes the lease for `ttlSeconds` unless someone holds it; whether `owner` now holds it. */
  takeLargeWrite(owner: string, ttlSeconds: number): Promise<boolean>;
  /** Gives the lease back if `owner` still holds it. */
  releaseLargeWrite(owner: string): Promise<void>;
}

/** Everything the services need from storage, as one implementation provides it. */
export interface Storage {
  readonly writer: PointWriter;
  readonly largeWrites: LargeWriteLease;
  readonly reader: RangeReader;
  readonly series: SeriesReader;
  readonly health: StorageHealth;
}
