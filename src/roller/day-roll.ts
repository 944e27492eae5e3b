/**
 * Rolling one (metric, day) of the roll queue: its queued minutes recomputed from
 * the raw points, then the quarters and hours those minutes fall in (from the
 * minutes, stored or just computed), then the day (from its hours), then the hours
 * sealed (hour-seal.ts). Every row is written as of `asOfUs`, taken before any read.
 */
import { combine, EMPTY_AGGREGATE, PointFold, type PartialAggregate } from '../domain/aggregate.js';
import { samplePartition } from '../domain/partitions.js';
import { bucketStart, DAY, HOUR, MINUTE, periodOf, QUARTER, type Level } from '../rollup/levels.js';
import { epochMinute } from '../rollup/roll-queue.js';
import type { DirtyDay, RollupRow, RollupStore } from '../storage/ports.js';
import { chunksOf, readHourPart } from '../storage/sealed-reads.js';
import { isOver, sealHours, type HourPoints, type SealContext } from './hour-seal.js';
import { dayStartMs } from '../time/day-bucket.js';
import { MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, type EpochMs } from '../time/units.js';

/** What rolling a day did: minutes recomputed, raw points read, rollup rows and chunks written. */
export interface DayRolled {
  readonly minutes: number;
  readonly points: number;
  readonly rows: number;
  readonly chunks: number;
}

type Buckets = Map<EpochMs, PartialAggregate>;

/** Recomputes the queued minutes of one metric and day, and the coarser buckets above them. */
export async function rollDay(context: SealContext, dirty: DirtyDay): Promise<DayRolled> {
  const { store, asOfUs } = context;
  const { metricId, day, minutes } = dirty;
  const dayStart = dayStartMs(day);
  const queued = [...new Set(minutes)].sort((a, b) => a - b).map((minute) => epochMinute(day, minute) * MS_PER_MINUTE);
  const write = (level: Level, period: number, buckets: ReadonlyMap<EpochMs, PartialAggregate>): Promise<number> =>
    writeBuckets(store, metricId, level, period, buckets, asOfUs);

  // Only an hour that is over can have a chunk: one still open is read from its raw points alone.
  const overHours = queued.map((start) => samplePartition(start)).filter((hour) => isOver(hour, context.nowMs));
  const chunks = await chunksOf(store, metricId, overHours);
  const { freshMinutes, points, scanned } = await minutesFromPoints(store, metricId, queued, chunks);
  let rows = await write(MINUTE, day, freshMinutes);
  const { quarters, hours } = await quartersAndHours(store, metricId, day, queued, freshMinutes);
  rows += await write(QUARTER, periodOf(QUARTER, dayStart), quarters);
  rows += await write(HOUR, periodOf(HOUR, dayStart), hours);
  const dayTotal = await dayFromHours(store, metricId, dayStart, hours);
  rows += await write(DAY, periodOf(DAY, dayStart), new Map([[dayStart, dayTotal]]));
  const sealed = await sealHours(context, { metricId, day, queued, scanned, chunks });
  return { minutes: queued.length, points, rows, chunks: sealed };
}

/**
 * The queued minutes from their points: one read per run of consecutive minutes
 * within an hour, of its raw points and, in a sealed hour, its chunk's
 * (storage/sealed-reads.ts). Also the points read, by hour, for sealing.
 */
async function minutesFromPoints(
  store: RollupStore,
  metricId: string,
  queued: readonly EpochMs[],
  chunks: ReadonlyMap<number, Uint8Array>,
): Promise<{ freshMinutes: Buckets; points: number; scanned: Map<number, HourPoints> }> {
  const folds = new Map<EpochMs, PointFold>(queued.map((start) => [start, new PointFold()]));
  const scanned = new Map<number, HourPoints>();
  let points = 0;
  for (const run of runsOf(queued)) {
    const hour = samplePartition(run.fromMs);
    let into = scanned.get(hour);
    if (into === undefined) scanned.set(hour, (into = { ts: [], values: [] }));
    const part = { metricId, hour, ...run, chunk: chunks.get(hour), rawMinute: () => true };
    const { ts, values } = await readHourPart(store, part);
    for (let i = 0; i < ts.length; i++) {
      folds.get(bucketStart(MINUTE, ts[i]!))!.add(ts[i]!, values[i]!);
      into.ts.push(ts[i]!);
      into.values.push(values[i]!);
    }
    points += ts.length;
  }
  const freshMinutes: Buckets = new Map();
  for (const [start, fold] of folds) freshMinutes.set(start, fold.partial);
  return { freshMinutes, points, scanned };
}

/** Quarters and hours of the hours touched, from their minutes (stored, or just computed). */
async function quartersAndHours(
  store: RollupStore,
  metricId: string,
  day: number,
  queued: readonly EpochMs[],
  freshMinutes: Buckets,
): Promise<{ quarters: Buckets; hours: Buckets }> {
  /** The hours touched, and how many of their minutes are queued. */
  const queuedPerHour = new Map<EpochMs, number>();
  for (const start of queued) {
    const hour = bucketStart(HOUR, start);
    queuedPerHour.set(hour, (queuedPerHour.get(hour) ?? 0) + 1);
  }
  const touched = [...queuedPerHour.keys()];
  const minuteRows: Buckets = new Map();
  // Hours whose every minute was just recomputed need no stored minutes.
  const partlyFresh = touched.filter((hour) => queuedPerHour.get(hour)! < MS_PER_HOUR / MS_PER_MINUTE);
  for (const run of runsOf(partlyFresh, MS_PER_HOUR)) {
    for (const row of await store.readRollups(metricId, MINUTE, day, run.fromMs, run.toMs))
      minuteRows.set(row.start, row.aggregate);
  }
  for (const [start, aggregate] of freshMinutes) minuteRows.set(start, aggregate);
  const quarters: Buckets = new Map();
  const hours: Buckets = new Map();
  for (const hour of touched) {
    let hourTotal = EMPTY_AGGREGATE;
    for (let quarter = hour; quarter < hour + MS_PER_HOUR; quarter += QUARTER.ms) {
      let total = EMPTY_AGGREGATE;
      for (let minute = quarter; minute < quarter + QUARTER.ms; minute += MS_PER_MINUTE)
        total = combine(total, minuteRows.get(minute) ?? EMPTY_AGGREGATE);
      quarters.set(quarter, total);
      hourTotal = combine(hourTotal, total);
    }
    hours.set(hour, hourTotal);
  }
  return { quarters, hours };
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
 * Ascending bucket starts of `width` as runs of consecutive buckets, [fromMs, toMs):
 * minutes (the default) within one raw partition each, so one scan reads a run.
 */
function runsOf(starts: readonly EpochMs[], width = MS_PER_MINUTE): Array<{ fromMs: EpochMs; toMs: EpochMs }> {
  const runs: Array<{ fromMs: EpochMs; toMs: EpochMs }> = [];
  const sameRun = (from: EpochMs, start: EpochMs): boolean =>
    width !== MS_PER_MINUTE || samplePartition(from) === samplePartition(start);
  for (const start of starts) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last.toMs === start && sameRun(last.fromMs, start)) last.toMs = start + width;
    else runs.push({ fromMs: start, toMs: start + width });
  }
  return runs;
}
