import { createYielder, settleAll } from '../concurrency.js';
import { type Point, type SpecialSample, type SpecialValue } from '../domain/point.js';
import { MINUTES_PER_DAY, REUSE_MS, shardOf, slotOf, UNCERTAIN_WRITE_HOLD_MS } from '../rollup/roll-queue.js';
import { seriesName } from '../domain/series.js';
import {
  catalogueShardOf,
  DIRTY_DAYS_PER_STATEMENT,
  SERIES_PER_STATEMENT,
  type CatalogueEntry,
  type DirtyDay,
  type PointWriter,
} from '../storage/ports.js';
import { HOURS_PER_DAY, MS_PER_DAY, MS_PER_MINUTE, type EpochMs } from '../time/units.js';
import { untilAborted, type WorkScope } from '../work-scope.js';
import type { WriteJob, WriteScheduler } from './write-scheduler.js';
import { groupByPartition, partitionKey, type PartitionGroup } from '../domain/partitions.js';

export interface IngestServiceOptions {
  readonly writer: PointWriter;
  /** Every statement goes through it (see write-scheduler.ts). */
  readonly scheduler: WriteScheduler;
  /** Points per single-partition write (one unlogged batch); the scheduler's. */
  readonly pointsPerWrite: number;
  /**
   * How long after a request's deadline a write it sent may still land (the storage
   * timeout, plus clock margin): a write's hold on its minutes lasts that long past
   * its deadline.
   */
  readonly landingMarginMs: number;
  /** How many queued (metric, minute) holds this process remembers, to reuse them. */
  readonly knownMinutesCapacity?: number;
  /** How many series this process remembers as catalogued (with their day spans). */
  readonly knownSeriesCapacity?: number;
  readonly clock?: () => EpochMs;
}

/** One request's insert: when it arrived (its points' write time) and what bounds it. */
export interface IngestRequest extends WorkScope {
  /** Microseconds since the epoch when the request arrived: the write time of its points. */
  readonly writeTimeUs: number;
}

export interface IngestService {
  /**
   * Stores validated points (and special samples, which only PromQL reads);
   * resolves only once Cassandra acknowledged every one. Returns how many points
   * were received. Throws OverloadedError before doing anything when the worker
   * is too busy, and the scope's reason once it fires.
   */
  ingest(points: readonly Point[], request: IngestRequest, specialSamples?: readonly SpecialSample[]): Promise<number>;
}

/** One raw partition's share of a request, in request order with later duplicates winning. */
export type WriteUnit = PartitionGroup<Point>;

/** The roll queue rows of one request: per shard, the days and minutes to queue. */
type QueueRows = Map<number, DirtyDay[]>;

/** The catalogue entries of one request, by catalogue shard. */
type CatalogueRows = Map<number, CatalogueEntry[]>;

/** Gives other work of the event loop a turn when the current one has run long enough (createYielder). */
type Pause = () => Promise<unknown>;

const noPause: Pause = () => Promise.resolve();

/** Planning a request's writes runs at most this long before it lets other requests run. */
const PAUSE_AFTER_MS = 10;

/** Items between two looks at the clock. */
const PAUSE_EVERY = 512;

/**
 * Writes points and queues their minutes for the roller (roll-queue.ts): the queue
 * rows first, then the points, so a point is never stored without the roller
 * learning of it. A queued minute's hold is reused by later writes it still covers,
 * and a write to the live minute also queues the minutes its hold reaches into,
 * so a live metric queues about once per REUSE_MS per worker, not once per point.
 */
export function createIngestService(options: IngestServiceOptions): IngestService {
  const {
    writer,
    scheduler,
    pointsPerWrite,
    landingMarginMs,
    knownMinutesCapacity = 200_000,
    knownSeriesCapacity = 200_000,
    clock = Date.now,
  } = options;
  /** (metric, epoch minute) -> the hold its latest queue row from this process gives. */
  const held = new Map<string, EpochMs>();
  /** Metric -> the day span this process last recorded for it in the catalogue. */
  const catalogued = new Map<string, { firstDay: number; lastDay: number }>();

  /** The catalogue entries a request needs: metrics new to this process, or points outside the days it recorded. */
  const catalogueRowsFor = async (
    partitions: readonly WriteUnit[],
    special: Iterable<SpecialDay>,
    pause: Pause,
  ): Promise<CatalogueRows> => {
    const spans = new Map<string, { firstDay: number; lastDay: number }>();
    const days = [
      ...partitions.map(({ metricId, partition }) => ({ metricId, day: Math.floor(partition / HOURS_PER_DAY) })),
      ...special,
    ];
    for (let i = 0; i < days.length; i++) {
      if (i % PAUSE_EVERY === 0) await pause();
      const { metricId, day } = days[i]!;
      const span = spans.get(metricId);
      if (span === undefined) spans.set(metricId, { firstDay: day, lastDay: day });
      else if (day < span.firstDay) span.firstDay = day;
      else if (day > span.lastDay) span.lastDay = day;
    }
    const rows: CatalogueRows = new Map();
    let i = 0;
    for (const [metricId, span] of spans) {
      if (++i % PAUSE_EVERY === 0) await pause();
      const known = catalogued.get(metricId);
      if (known !== undefined && known.firstDay <= span.firstDay && known.lastDay >= span.lastDay) continue;
      const name = seriesName(metricId);
      const entry = {
        metricId,
        name,
        firstDay: Math.min(span.firstDay, known?.firstDay ?? Infinity),
        lastDay: Math.max(span.lastDay, known?.lastDay ?? -Infinity),
      };
      const shard = catalogueShardOf(name);
      const list = rows.get(shard);
      if (list === undefined) rows.set(shard, [entry]);
      else list.push(entry);
    }
    return rows;
  };

  const rememberSeries = (rows: CatalogueRows): void => {
    if (catalogued.size > knownSeriesCapacity) catalogued.clear();
    for (const entries of rows.values())
      for (const { metricId, firstDay, lastDay } of entries) catalogued.set(metricId, { firstDay, lastDay });
  };

  /** The queue rows a request needs (minutes not covered by a hold already queued), by shard. */
  const queueRowsFor = async (
    partitions: readonly WriteUnit[],
    needMs: EpochMs,
    holdMs: EpochMs,
    now: EpochMs,
    pause: Pause,
  ): Promise<{ rows: QueueRows; minutes: Map<string, number[]> }> => {
    const liveFrom = Math.floor(now / MS_PER_MINUTE) - 1;
    const liveTo = Math.floor(now / MS_PER_MINUTE) + 1;
    const reach = Math.floor(holdMs / MS_PER_MINUTE);
    const minutes = await minutesByMetric(
      partitions,
      (metricId, minute, add) => {
        if ((held.get(partitionKey(metricId, minute)) ?? -Infinity) >= needMs) return;
        add(minute);
        // Live writes: the minutes this hold reaches into will be written next.
        if (minute >= liveFrom && minute <= liveTo) for (let next = minute + 1; next <= reach; next++) add(next);
      },
      pause,
    );
    return { rows: await queueRowsOf(minutes, pause), minutes };
  };

  const remember = (minutes: Map<string, number[]>, holdMs: EpochMs): void => {
    if (held.size > knownMinutesCapacity) held.clear();
    for (const [metricId, list] of minutes) for (const minute of list) held.set(partitionKey(metricId, minute), holdMs);
  };

  const run = async (
    job: WriteJob,
    partitions: readonly WriteUnit[],
    queue: { rows: QueueRows; minutes: Map<string, number[]> },
    series: CatalogueRows,
    special: ReadonlyMap<string, SpecialDay>,
    holdMs: EpochMs,
    request: IngestRequest,
  ): Promise<void> => {
    // The queue and the catalogue first: a minute queued or a series listed with no new point is harmless,
    // a point whose minute is not queued would never be rolled up, one whose series is not listed never found.
    const slot = slotOf(holdMs);
    await settleAll([
      ...inChunksPerShard(queue.rows, DIRTY_DAYS_PER_STATEMENT, (shard, days) =>
        job.run(() => writer.markDirty(shard, slot, days)),
      ),
      ...inChunksPerShard(series, SERIES_PER_STATEMENT, (shard, entries) =>
        job.run(() => writer.recordSeries(shard, entries)),
      ),
    ]);
    remember(queue.minutes, holdMs);
    rememberSeries(series);
    let uncertain = false;
    const write = (unit: WriteUnit): Promise<void> =>
      job.writePartition(unit.metricId, unit.partition, unit.points, request.writeTimeUs).catch((error: unknown) => {
        uncertain ||= error !== request.signal.reason; // dropped before sending is certain: it never landed
        throw error;
      });
    const writeSpecial = ({ metricId, day, samples }: SpecialDay): Promise<void> =>
      job.run(() => writer.writeSpecialSamples(metricId, day, samples, request.writeTimeUs));
    try {
      await settleAll([...partitions.map(write), ...[...special.values()].map(writeSpecial)]);
    } finally {
      // A write that failed may still reach replicas that missed it: queue its minutes again for later (best effort).
      if (uncertain) {
        const late = slotOf(clock() + UNCERTAIN_WRITE_HOLD_MS);
        const all = await queueRowsOf(
          await minutesByMetric(partitions, (_, minute, add) => add(minute), noPause),
          noPause,
        );
        for (const [shard, days] of all) writer.markDirty(shard, late, days).catch(() => undefined);
      }
    }
  };

  return {
    async ingest(points, request, specialSamples = []) {
      // A batch of 20,000 new metrics takes some 300 ms to plan: other requests get turns meanwhile.
      const pause = createYielder(PAUSE_AFTER_MS);
      const partitions = await groupByPartition(points, pause);
      const special = specialByDay(specialSamples);
      const now = clock();
      const needMs = request.deadlineMs + landingMarginMs;
      const holdMs = needMs + REUSE_MS;
      const queue = await queueRowsFor(partitions, needMs, holdMs, now, pause);
      const series = await catalogueRowsFor(partitions, special.values(), pause);
      request.signal.throwIfAborted();
      let statements = 0;
      for (const days of queue.rows.values()) statements += Math.ceil(days.length / DIRTY_DAYS_PER_STATEMENT);
      for (const entries of series.values()) statements += Math.ceil(entries.length / SERIES_PER_STATEMENT);
      for (const unit of partitions) statements += Math.ceil(unit.points.length / pointsPerWrite);
      statements += special.size;

      const job = scheduler.admit({ statements, points: points.length, signal: request.signal });
      try {
        await untilAborted(run(job, partitions, queue, series, special, holdMs, request), request.signal);
      } finally {
        job.end();
      }
      return points.length;
    },
  };
}

/** Ascending epoch minutes as (day, minutes of that day). */
function daysOf(sorted: readonly number[]): Array<{ day: number; minutes: number[] }> {
  const days: Array<{ day: number; minutes: number[] }> = [];
  for (const minute of sorted) {
    const day = Math.floor(minute / MINUTES_PER_DAY);
    const last = days[days.length - 1];
    if (last?.day === day) last.minutes.push(minute - day * MINUTES_PER_DAY);
    else days.push({ day, minutes: [minute - day * MINUTES_PER_DAY] });
  }
  return days;
}

/**
 * Per metric, ascending and without repeats, the epoch minutes `pick` adds for the
 * minute of each point of `partitions` (none, that minute, or more); metrics it
 * adds none for are left out.
 */
async function minutesByMetric(
  partitions: readonly WriteUnit[],
  pick: (metricId: string, minute: number, add: (minute: number) => void) => void,
  pause: Pause,
): Promise<Map<string, number[]>> {
  const byMetric = new Map<string, Set<number>>();
  for (let i = 0; i < partitions.length; i++) {
    if (i % PAUSE_EVERY === 0) await pause();
    const { metricId, points } = partitions[i]!;
    let minutes = byMetric.get(metricId);
    if (minutes === undefined) byMetric.set(metricId, (minutes = new Set()));
    const add = minutes.add.bind(minutes);
    for (const { ts } of points) pick(metricId, Math.floor(ts / MS_PER_MINUTE), add);
  }
  const sorted = new Map<string, number[]>();
  for (const [metricId, minutes] of byMetric)
    if (minutes.size > 0)
      sorted.set(
        metricId,
        [...minutes].sort((a, b) => a - b),
      );
  return sorted;
}

/** Ascending epoch minutes per metric as queue rows (metric, day, minutes of the day), by shard. */
async function queueRowsOf(minutesByMetric: ReadonlyMap<string, readonly number[]>, pause: Pause): Promise<QueueRows> {
  const rows: QueueRows = new Map();
  let i = 0;
  for (const [metricId, minutes] of minutesByMetric) {
    if (++i % PAUSE_EVERY === 0) await pause();
    const shard = shardOf(metricId);
    let list = rows.get(shard);
    if (list === undefined) rows.set(shard, (list = []));
    for (const { day, minutes: ofDay } of daysOf(minutes)) list.push({ metricId, day, minutes: ofDay });
  }
  return rows;
}

/** One call per shard and `size` of its rows. */
function inChunksPerShard<T>(
  rows: ReadonlyMap<number, readonly T[]>,
  size: number,
  statement: (shard: number, chunk: T[]) => Promise<void>,
): Array<Promise<void>> {
  const calls: Array<Promise<void>> = [];
  for (const [shard, list] of rows) {
    for (let start = 0; start < list.length; start += size)
      calls.push(statement(shard, list.slice(start, start + size)));
  }
  return calls;
}

/** A request's special samples of one metric and UTC day: one write. */
interface SpecialDay {
  readonly metricId: string;
  readonly day: number;
  readonly samples: SpecialValue[];
}

function specialByDay(samples: readonly SpecialSample[]): Map<string, SpecialDay> {
  const byDay = new Map<string, SpecialDay>();
  for (const { metricId, ts, value, stale } of samples) {
    const day = Math.floor(ts / MS_PER_DAY);
    const key = partitionKey(metricId, day);
    const entry = byDay.get(key);
    if (entry === undefined) byDay.set(key, { metricId, day, samples: [{ ts, value, stale }] });
    else entry.samples.push({ ts, value, stale });
  }
  return byDay;
}
