/**
 * Planning one insert: which roll-queue rows and catalogue entries it needs, given
 * what this process queued and catalogued already (remembered up to a capacity),
 * and its special samples by metric and day. Long plans pause (createYielder) so
 * other requests get turns.
 */
import { dayBucket } from '../time/day-bucket.js';
import { PAUSE_EVERY } from '../concurrency.js';
import type { Point, SpecialSample, SpecialValue } from '../domain/point.js';
import { partitionKey, type PartitionGroup } from '../domain/partitions.js';
import { seriesName } from '../domain/series.js';
import { QUARTER } from '../rollup/levels.js';
import { MINUTES_PER_DAY, shardOf } from '../rollup/roll-queue.js';
import {
  catalogueShardOf,
  partitionShareBytes,
  WRITE_BYTES,
  type CatalogueEntry,
  type DayMinutes,
  type DirtyDay,
} from '../storage/ports.js';
import { HOURS_PER_DAY, MS_PER_MINUTE, type EpochMs } from '../time/units.js';

/** One raw partition's share of a request, in request order with later duplicates winning. */
export type WriteUnit = PartitionGroup<Point>;

/** What is queued for the roller: a metric's samples (points, or special samples the roller seals with them). */
export interface Timed {
  readonly metricId: string;
  readonly points: ReadonlyArray<{ readonly ts: EpochMs }>;
}

/** The roll queue rows of one request: per shard, the days and minutes to queue. */
export type QueueRows = Map<number, DirtyDay[]>;

/** The catalogue entries of one request, by catalogue shard. */
export type CatalogueRows = Map<number, CatalogueEntry[]>;

/** Gives other work of the event loop a turn when the current one has run long enough (createYielder). */
export type Pause = () => Promise<unknown>;

export const noPause: Pause = () => Promise.resolve();

/** Minutes of a quarter (rollup/levels.ts QUARTER), the unit the roller recomputes. */
const MINUTES_PER_QUARTER = QUARTER.ms / MS_PER_MINUTE;

/**
 * The minutes this process queued, with the hold each queue row gives: a later write
 * they cover queues nothing. A write queues with its minute the rest of that minute's
 * quarter, which its writer (a backfill, a batch, a collector flushing) usually
 * writes next: the roller recomputes the whole quarter either way, and a minute
 * queued with no point written is harmless. A live write queues instead the minutes
 * its hold reaches into.
 */
export class QueuedMinutes {
  /** Metric -> epoch minute -> the hold its latest queue row from this process gives. */
  private readonly held = new Map<string, Map<number, EpochMs>>();
  private size = 0;

  constructor(private readonly capacity: number) {}

  /** The queue rows a request needs (minutes not covered by a hold already queued), by shard. */
  async rowsFor(
    partitions: readonly Timed[],
    needMs: EpochMs,
    holdMs: EpochMs,
    now: EpochMs,
    pause: Pause,
  ): Promise<{ rows: QueueRows; minutes: Map<string, number[]> }> {
    const liveFrom = Math.floor(now / MS_PER_MINUTE) - 1;
    const liveTo = Math.floor(now / MS_PER_MINUTE) + 1;
    const reach = Math.floor(holdMs / MS_PER_MINUTE);
    // Points of one metric come together (partitions are): its held minutes are looked up once per run of them.
    let [metric, held] = ['', undefined as ReadonlyMap<number, EpochMs> | undefined];
    const covered = (minute: number): boolean => (held?.get(minute) ?? -Infinity) >= needMs;
    const minutes = await minutesByMetric(
      partitions,
      (metricId, minute, add) => {
        if (metricId !== metric) [metric, held] = [metricId, this.held.get(metricId)];
        if (covered(minute)) return;
        add(minute);
        const live = minute >= liveFrom && minute <= liveTo;
        const last = live ? reach : (Math.floor(minute / MINUTES_PER_QUARTER) + 1) * MINUTES_PER_QUARTER - 1;
        for (let next = minute + 1; next <= last; next++) if (!covered(next)) add(next);
      },
      pause,
    );
    return { rows: await queueRowsOf(minutes, pause), minutes };
  }

  /** The request's queue rows are written: later writes within their hold need none. */
  remember(minutes: Map<string, number[]>, holdMs: EpochMs): void {
    if (this.size > this.capacity) {
      this.held.clear();
      this.size = 0;
    }
    for (const [metricId, list] of minutes) {
      let held = this.held.get(metricId);
      if (held === undefined) this.held.set(metricId, (held = new Map()));
      for (const minute of list) {
        if (!held.has(minute)) this.size++;
        held.set(minute, holdMs);
      }
    }
  }
}

/** The series this process listed in the catalogue, with the day spans it recorded. */
export class CataloguedSeries {
  /** Metric -> the day span this process last recorded for it in the catalogue. */
  private readonly catalogued = new Map<string, { firstDay: number; lastDay: number }>();

  constructor(private readonly capacity: number) {}

  /** The catalogue entries a request needs: metrics new to this process, or points outside the days it recorded. */
  async rowsFor(partitions: readonly WriteUnit[], special: Iterable<SpecialDay>, pause: Pause): Promise<CatalogueRows> {
    const spans = await daySpans(partitions, special, pause);
    const rows: CatalogueRows = new Map();
    let i = 0;
    for (const [metricId, span] of spans) {
      if (++i % PAUSE_EVERY === 0) await pause();
      const known = this.catalogued.get(metricId);
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
  }

  /** The request's catalogue entries are written. */
  remember(rows: CatalogueRows): void {
    if (this.catalogued.size > this.capacity) this.catalogued.clear();
    for (const entries of rows.values())
      for (const { metricId, firstDay, lastDay } of entries) this.catalogued.set(metricId, { firstDay, lastDay });
  }
}

/** Per metric, the first and last UTC day a request's points and special samples fall on. */
async function daySpans(
  partitions: readonly WriteUnit[],
  special: Iterable<SpecialDay>,
  pause: Pause,
): Promise<Map<string, { firstDay: number; lastDay: number }>> {
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
  return spans;
}

/** Ascending epoch minutes as (day, minutes of that day). */
function daysOf(sorted: readonly number[]): DayMinutes[] {
  const days: DayMinutes[] = [];
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
export async function minutesByMetric(
  partitions: readonly Timed[],
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
export async function queueRowsOf(
  minutesByMetric: ReadonlyMap<string, readonly number[]>,
  pause: Pause,
): Promise<QueueRows> {
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

/** The statements of rows by shard: each shard's rows cut by `chunksOf`. */
export function inChunksPerShard<T>(
  rows: ReadonlyMap<number, readonly T[]>,
  chunksOf: (list: readonly T[]) => T[][],
): Array<[number, T[]]> {
  const statements: Array<[number, T[]]> = [];
  for (const [shard, list] of rows) for (const chunk of chunksOf(list)) statements.push([shard, chunk]);
  return statements;
}

/** A request's special samples of one metric and UTC day: one write. */
export interface SpecialDay {
  readonly metricId: string;
  readonly day: number;
  readonly samples: SpecialValue[];
}

/** A request's points and special samples, as what their writes queue for the roller. */
export function queuedSamples(partitions: readonly WriteUnit[], special: Iterable<SpecialDay>): Timed[] {
  return [...partitions, ...[...special].map(({ metricId, samples }) => ({ metricId, points: samples }))];
}

export function specialByDay(samples: readonly SpecialSample[]): Map<string, SpecialDay> {
  const byDay = new Map<string, SpecialDay>();
  for (const { metricId, ts, value, stale } of samples) {
    const day = dayBucket(ts);
    const key = partitionKey(metricId, day);
    const entry = byDay.get(key);
    if (entry === undefined) byDay.set(key, { metricId, day, samples: [{ ts, value, stale }] });
    else entry.samples.push({ ts, value, stale });
  }
  return byDay;
}

/** Whether a share of `more` points of `metricId` fits in a statement holding `points` points and `bytes`. */
export function fitsBeside(
  points: number,
  bytes: number,
  metricId: string,
  more: number,
  pointsPerWrite: number,
): boolean {
  return points + more <= pointsPerWrite && bytes + partitionShareBytes(metricId, more) <= WRITE_BYTES;
}

/**
 * The statements a request's partition writes take, sent in this order (as send()
 * groups them, before any merge with other requests' writes): what admission counts.
 */
export function statementsOf(
  writes: ReadonlyArray<{ readonly metricId: string; readonly points: { readonly length: number } }>,
  pointsPerWrite: number,
): number {
  let statements = 0;
  let [points, bytes] = [pointsPerWrite, 0];
  for (const { metricId, points: list } of writes)
    for (let start = 0; start < list.length; start += pointsPerWrite) {
      const n = Math.min(pointsPerWrite, list.length - start);
      if (fitsBeside(points, bytes, metricId, n, pointsPerWrite)) {
        points += n;
        bytes += partitionShareBytes(metricId, n);
      } else {
        statements++;
        [points, bytes] = [n, partitionShareBytes(metricId, n)];
      }
    }
  return statements;
}
