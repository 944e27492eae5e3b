/**
 * Rolling one (metric, day) of the roll queue: the quarters its queued minutes fall
 * in recomputed from their points (raw rows, and the chunk of a sealed hour), then
 * the hours those quarters fall in (from their quarters, stored or just computed),
 * then the day (from its hours), then the hours sealed (hour-seal.ts). Every row is
 * written as of `asOfUs`, taken before any read.
 */
import { combine, EMPTY_AGGREGATE, PointFold, type PartialAggregate } from '../domain/aggregate.js';
import { samplePartition } from '../domain/partitions.js';
import { bucketStart, DAY, HOUR, periodOf, QUARTER, type Level } from '../rollup/levels.js';
import { epochMinute } from '../rollup/roll-queue.js';
import type { DirtyDay, RollupRow, RollupStore } from '../storage/ports.js';
import { chunksOf, readHourPart } from '../storage/sealed-reads.js';
import { isOver, sealHours, type HourPoints, type SealContext } from './hour-seal.js';
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

const QUARTERS_PER_HOUR = MS_PER_HOUR / QUARTER.ms;

/** Recomputes the quarters of one metric and day that hold its queued minutes, and the coarser buckets above them. */
export async function rollDay(context: SealContext, dirty: DirtyDay): Promise<DayRolled> {
  const { store, asOfUs } = context;
  const { metricId, day, minutes } = dirty;
  const dayStart = dayStartMs(day);
  const queued = [...new Set(minutes)].sort((a, b) => a - b).map((minute) => epochMinute(day, minute) * MS_PER_MINUTE);
  const quarterStarts = [...new Set(queued.map((start) => bucketStart(QUARTER, start)))];
  const write = (level: Level, buckets: ReadonlyMap<EpochMs, PartialAggregate>): Promise<number> =>
    writeBuckets(store, metricId, level, periodOf(level, dayStart), buckets, asOfUs);

  // Only an hour that is over can have a chunk: one still open is read from its raw points alone.
  const overHours = quarterStarts.map((start) => samplePartition(start)).filter((hour) => isOver(hour, context.nowMs));
  const chunks = await chunksOf(store, metricId, overHours);
  const { quarters, points, scanned } = await quartersFromPoints(store, metricId, quarterStarts, chunks);
  let rows = await write(QUARTER, quarters);
  const hours = await hoursFromQuarters(store, metricId, dayStart, quarters);
  rows += await write(HOUR, hours);
  const dayTotal = await dayFromHours(store, metricId, dayStart, hours);
  rows += await write(DAY, new Map([[dayStart, dayTotal]]));
  const sealed = await sealHours(context, { metricId, day, queued, scanned, chunks });
  return { minutes: queued.length, points, rows, chunks: sealed };
}

/**
 * The quarters from their points: one read per run of consecutive quarters within
 * an hour, of its raw points and, in a sealed hour, its chunk's
 * (storage/sealed-reads.ts). Also the points read, by hour, for sealing.
 */
async function quartersFromPoints(
  store: RollupStore,
  metricId: string,
  quarterStarts: readonly EpochMs[],
  chunks: ReadonlyMap<number, Uint8Array>,
): Promise<{ quarters: Buckets; points: number; scanned: Map<number, HourPoints> }> {
  const folds = new Map<EpochMs, PointFold>(quarterStarts.map((start) => [start, new PointFold()]));
  const scanned = new Map<number, HourPoints>();
  let points = 0;
  for (const run of runsOf(quarterStarts, QUARTER.ms, true)) {
    const hour = samplePartition(run.fromMs);
    let into = scanned.get(hour);
    if (into === undefined) scanned.set(hour, (into = { ts: [], values: [] }));
    const part = { metricId, hour, ...run, chunk: chunks.get(hour), rawMinute: () => true };
    const { ts, values } = await readHourPart(store, part);
    for (let i = 0; i < ts.length; i++) {
      folds.get(bucketStart(QUARTER, ts[i]!))!.add(ts[i]!, values[i]!);
      into.ts.push(ts[i]!);
      into.values.push(values[i]!);
    }
    points += ts.length;
  }
  const quarters: Buckets = new Map();
  for (const [start, fold] of folds) quarters.set(start, fold.partial);
  return { quarters, points, scanned };
}

/** The hours of the quarters just computed, each from its four quarters (stored, or just computed). */
async function hoursFromQuarters(
  store: RollupStore,
  metricId: string,
  dayStart: EpochMs,
  freshQuarters: Buckets,
): Promise<Buckets> {
  const perHour = new Map<EpochMs, number>();
  for (const start of freshQuarters.keys()) {
    const hour = bucketStart(HOUR, start);
    perHour.set(hour, (perHour.get(hour) ?? 0) + 1);
  }
  const quarterRows: Buckets = new Map();
  // Hours whose every quarter was just recomputed need no stored ones.
  const partlyFresh = [...perHour.keys()].filter((hour) => perHour.get(hour)! < QUARTERS_PER_HOUR);
  for (const run of runsOf(partlyFresh, MS_PER_HOUR, false)) {
    for (const row of await store.readRollups(metricId, QUARTER, periodOf(QUARTER, dayStart), run.fromMs, run.toMs))
      quarterRows.set(row.start, row.aggregate);
  }
  for (const [start, aggregate] of freshQuarters) quarterRows.set(start, aggregate);
  const hours: Buckets = new Map();
  for (const hour of perHour.keys()) {
    let hourTotal = EMPTY_AGGREGATE;
    for (let quarter = hour; quarter < hour + MS_PER_HOUR; quarter += QUARTER.ms)
      hourTotal = combine(hourTotal, quarterRows.get(quarter) ?? EMPTY_AGGREGATE);
    hours.set(hour, hourTotal);
  }
  return hours;
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
