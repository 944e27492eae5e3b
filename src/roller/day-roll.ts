/**
 * Rolling one (metric, day) of the roll queue: the quarters its queued minutes fall
 * in recomputed, then the hours those quarters fall in (from their quarters, stored
 * or just computed), then the day (from its hours), then the hours sealed
 * (hour-seal.ts). A quarter is recomputed from all its points (raw rows, and the
 * chunk of a sealed hour), or, when dense (rollup/levels.ts MINUTE), from its
 * stored minute rows with the queued minutes recomputed from their points. Every
 * row is written as of `asOfUs`, taken before any read; minute rows before the
 * quarter rows that say they are there.
 */
import { combine, EMPTY_AGGREGATE, PointFold, type PartialAggregate } from '../domain/aggregate.js';
import { samplePartition } from '../domain/partitions.js';
import { bucketStart, DAY, HOUR, isDense, MINUTE, periodOf, QUARTER, type Level } from '../rollup/levels.js';
import { epochMinute } from '../rollup/roll-queue.js';
import type { DirtyDay, RollupRow, RollupStore } from '../storage/ports.js';
import { chunksOf, readHourPart } from '../storage/sealed-reads.js';
import { isOver, noHourPoints, sealHours, type HourPoints, type SealContext } from './hour-seal.js';
import { dayStartMs } from '../time/day-bucket.js';
import { MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, type EpochMs } from '../time/units.js';

/** What rolling a day did: minutes queued, points read, rollup rows and chunks written. */
export interface DayRolled {
  readonly minutes: number;
  readonly points: number;
  readonly rows: number;
  readonly chunks: number;
}

type Buckets = Map<EpochMs, PartialAggregate>;

/** What recomputing a day's queued quarters read and computed. */
interface Recomputed {
  readonly quarters: Buckets;
  /** Minute rows to write: the queued minutes of dense quarters, every minute of quarters just become dense. */
  readonly minutes: Buckets;
  points: number;
  /** The points read, by hour, for sealing. */
  readonly scanned: Map<number, HourPoints>;
}

/** Recomputes the quarters of one metric and day that hold its queued minutes, and the coarser buckets above them. */
export async function rollDay(context: SealContext, dirty: DirtyDay): Promise<DayRolled> {
  const { store, asOfUs } = context;
  const { metricId, day, minutes } = dirty;
  const dayStart = dayStartMs(day);
  const queued = [...new Set(minutes)].sort((a, b) => a - b).map((minute) => epochMinute(day, minute) * MS_PER_MINUTE);
  const quarterStarts = [...new Set(queued.map((start) => bucketStart(QUARTER, start)))];
  const write = (level: Level, buckets: ReadonlyMap<EpochMs, PartialAggregate>): Promise<number> =>
    writeBuckets(store, metricId, level, periodOf(level, dayStart), buckets, asOfUs);

  const touchedHours = [...new Set(quarterStarts.map((start) => bucketStart(HOUR, start)))];
  const storedQuarters = await quartersOfHours(store, metricId, dayStart, touchedHours);
  // Only an hour that is over can have a chunk: one still open is read from its raw points alone.
  const overHours = touchedHours.map((start) => samplePartition(start)).filter((hour) => isOver(hour, context.nowMs));
  const chunks = await chunksOf(store, metricId, overHours);
  const recomputed: Recomputed = { quarters: new Map(), minutes: new Map(), points: 0, scanned: new Map() };
  const reader = { store, metricId, day, chunks, into: recomputed };
  const dense = quarterStarts.filter((start) => isDense(storedQuarters.get(start)));
  await sparseQuarters(
    reader,
    quarterStarts.filter((start) => !dense.includes(start)),
  );
  for (const quarter of dense)
    await denseQuarter(
      reader,
      quarter,
      queued.filter((start) => bucketStart(QUARTER, start) === quarter),
    );
  let rows = await write(MINUTE, recomputed.minutes);
  rows += await write(QUARTER, recomputed.quarters);
  const hours = hoursFromQuarters(touchedHours, storedQuarters, recomputed.quarters);
  rows += await write(HOUR, hours);
  const dayTotal = await dayFromHours(store, metricId, dayStart, hours);
  rows += await write(DAY, new Map([[dayStart, dayTotal]]));
  for (const points of recomputed.scanned.values()) ascending(points);
  const sealed = await sealHours(context, { metricId, day, queued, scanned: recomputed.scanned, chunks });
  return { minutes: queued.length, points: recomputed.points, rows, chunks: sealed };
}

interface DayReader {
  readonly store: RollupStore;
  readonly metricId: string;
  readonly day: number;
  readonly chunks: ReadonlyMap<number, Uint8Array>;
  readonly into: Recomputed;
}

/** The points of [fromMs, toMs) within one hour (its raw rows and its chunk's), kept for sealing too. */
async function readPoints(
  { store, metricId, chunks, into }: DayReader,
  run: { fromMs: EpochMs; toMs: EpochMs },
): Promise<{ ts: ArrayLike<number>; values: ArrayLike<number> }> {
  const hour = samplePartition(run.fromMs);
  let scanned = into.scanned.get(hour);
  if (scanned === undefined) into.scanned.set(hour, (scanned = noHourPoints()));
  scanned.spans.push(run);
  const part = { metricId, hour, ...run, chunk: chunks.get(hour), rawMinute: () => true };
  const { ts, values } = await readHourPart(store, part);
  for (let i = 0; i < ts.length; i++) {
    scanned.ts.push(ts[i]!);
    scanned.values.push(values[i]!);
  }
  into.points += ts.length;
  return { ts, values };
}

/**
 * Quarters recomputed from all their points, one read per run of consecutive
 * quarters within an hour; one that has become dense gets every minute's row.
 */
async function sparseQuarters(reader: DayReader, starts: readonly EpochMs[]): Promise<void> {
  const { quarters, minutes } = reader.into;
  for (const run of runsOf(starts, QUARTER.ms, true)) {
    const { ts, values } = await readPoints(reader, run);
    const folds = foldBy(QUARTER, ts, values);
    for (let quarter = run.fromMs; quarter < run.toMs; quarter += QUARTER.ms)
      quarters.set(quarter, folds.get(quarter)?.partial ?? EMPTY_AGGREGATE);
    const denseNow = [...folds.keys()].filter((quarter) => isDense(folds.get(quarter)!.partial));
    if (denseNow.length === 0) continue;
    for (const [start, fold] of foldBy(MINUTE, ts, values))
      if (denseNow.includes(bucketStart(QUARTER, start))) minutes.set(start, fold.partial);
  }
}

/** A dense quarter: its queued minutes from their points, the others from their stored rows. */
async function denseQuarter(reader: DayReader, quarter: EpochMs, queued: readonly EpochMs[]): Promise<void> {
  const { store, metricId, day, into } = reader;
  const rows: Buckets = new Map();
  for (const row of await store.readRollups(metricId, MINUTE, day, quarter, quarter + QUARTER.ms))
    rows.set(row.start, row.aggregate);
  for (const run of runsOf(queued, MS_PER_MINUTE, true)) {
    const { ts, values } = await readPoints(reader, run);
    const folds = foldBy(MINUTE, ts, values);
    for (let minute = run.fromMs; minute < run.toMs; minute += MS_PER_MINUTE) {
      const partial = folds.get(minute)?.partial ?? EMPTY_AGGREGATE;
      rows.set(minute, partial);
      into.minutes.set(minute, partial);
    }
  }
  let total = EMPTY_AGGREGATE;
  for (const aggregate of rows.values()) total = combine(total, aggregate);
  into.quarters.set(quarter, total);
}

/**
 * Puts an hour's scanned points in ts order, as sealing merges them: sparse quarters
 * are read before dense ones, which may lie earlier in the hour. The runs read are
 * disjoint, so no ts is there twice.
 */
function ascending(points: HourPoints): void {
  const { ts, values } = points;
  let sorted = true;
  for (let i = 1; i < ts.length && sorted; i++) sorted = ts[i - 1]! < ts[i]!;
  if (sorted) return;
  const order = ts.map((_, i) => i).sort((a, b) => ts[a]! - ts[b]!);
  const [byTs, valuesByTs] = [order.map((i) => ts[i]!), order.map((i) => values[i]!)];
  for (let i = 0; i < order.length; i++) [ts[i], values[i]] = [byTs[i]!, valuesByTs[i]!];
}

/** Points folded per bucket of `level`. */
function foldBy(level: Level, ts: ArrayLike<number>, values: ArrayLike<number>): Map<EpochMs, PointFold> {
  const folds = new Map<EpochMs, PointFold>();
  for (let i = 0; i < ts.length; i++) {
    const start = bucketStart(level, ts[i]!);
    let fold = folds.get(start);
    if (fold === undefined) folds.set(start, (fold = new PointFold()));
    fold.add(ts[i]!, values[i]!);
  }
  return folds;
}

/** The stored quarters of the hours touched. */
async function quartersOfHours(
  store: RollupStore,
  metricId: string,
  dayStart: EpochMs,
  hours: readonly EpochMs[],
): Promise<Buckets> {
  const stored: Buckets = new Map();
  for (const run of runsOf(hours, MS_PER_HOUR, false)) {
    for (const row of await store.readRollups(metricId, QUARTER, periodOf(QUARTER, dayStart), run.fromMs, run.toMs))
      stored.set(row.start, row.aggregate);
  }
  return stored;
}

/** The hours touched, each from its four quarters (just computed, or stored). */
function hoursFromQuarters(hours: readonly EpochMs[], stored: Buckets, fresh: Buckets): Buckets {
  const totals: Buckets = new Map();
  for (const hour of hours) {
    let hourTotal = EMPTY_AGGREGATE;
    for (let quarter = hour; quarter < hour + MS_PER_HOUR; quarter += QUARTER.ms)
      hourTotal = combine(hourTotal, fresh.get(quarter) ?? stored.get(quarter) ?? EMPTY_AGGREGATE);
    totals.set(hour, hourTotal);
  }
  return totals;
}

/** The day, from its hours: the stored ones, with the ones just computed in their place. */
async function dayFromHours(
  store: RollupStore,
  metricId: string,
  dayStart: EpochMs,
  freshHours: Buckets,
): Promise<PartialAggregate> {
  const hourRows: Buckets = new Map();
  for (const row of await store.readRollups(metricId, HOUR, periodOf(HOUR, dayStart), dayStart, dayStart + MS_PER_DAY))
    hourRows.set(row.start, row.aggregate);
  for (const [start, aggregate] of freshHours) hourRows.set(start, aggregate);
  let dayTotal = EMPTY_AGGREGATE;
  for (const aggregate of hourRows.values()) dayTotal = combine(dayTotal, aggregate);
  return dayTotal;
}

/** Writes the buckets that hold points (a bucket without any has no row); returns how many. */
async function writeBuckets(
  store: RollupStore,
  metricId: string,
  level: Level,
  period: number,
  buckets: ReadonlyMap<EpochMs, PartialAggregate>,
  asOfUs: number,
): Promise<number> {
  const rows: RollupRow[] = [];
  for (const [start, aggregate] of buckets) if (aggregate.count > 0) rows.push({ start, aggregate });
  if (rows.length > 0) await store.writeRollups(metricId, level, period, rows, asOfUs);
  return rows.length;
}

/**
 * Ascending bucket starts of `width` as runs of consecutive buckets, [fromMs, toMs);
 * each within one raw partition when `perHour`, so that one scan reads a run.
 */
function runsOf(
  starts: readonly EpochMs[],
  width: number,
  perHour: boolean,
): Array<{ fromMs: EpochMs; toMs: EpochMs }> {
  const runs: Array<{ fromMs: EpochMs; toMs: EpochMs }> = [];
  const sameRun = (from: EpochMs, start: EpochMs): boolean =>
    !perHour || samplePartition(from) === samplePartition(start);
  for (const start of starts) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last.toMs === start && sameRun(last.fromMs, start)) last.toMs = start + width;
    else runs.push({ fromMs: start, toMs: start + width });
  }
  return runs;
}
