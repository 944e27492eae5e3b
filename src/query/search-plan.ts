/**
 * A search's plan: each bucket's part of the range covered by the coarsest clean
 * rollups inside it (grouped per storage partition), the rest (edges, quarters
 * with unrolled minutes) as points, read once per hour partition; then reading
 * the plan into per-bucket partial aggregates.
 */
import { forEachBounded, settleAll } from '../concurrency.js';
import { PointFold, type PartialAggregate } from '../domain/aggregate.js';
import { groupOf } from '../domain/groups.js';
import { samplePartition } from '../domain/partitions.js';
import { invalidRequest } from '../errors.js';
import {
  bucketStart,
  coverRange,
  isDense,
  MINUTE,
  periodOf,
  periodStart,
  QUARTER,
  type Level,
} from '../rollup/levels.js';
import type { RangeReader } from '../storage/ports.js';
import { chunksOf, readHourPart } from '../storage/sealed-reads.js';
import { MS_PER_HOUR, MS_PER_MINUTE, type EpochMs } from '../time/units.js';
import { firstAtOrAfter } from '../time/windows.js';
import { checkScope, type WorkScope } from '../work-scope.js';

/** The parts of the range read as points from one raw partition (ascending, disjoint), and the bucket each counts toward. */
type RawRead = Array<{ readonly bucket: number; readonly fromMs: EpochMs; readonly toMs: EpochMs }>;

/** The runs of rollup buckets one search reads from one storage partition (ascending, disjoint), and the bucket each counts toward. */
interface SpanGroup {
  readonly level: Level;
  readonly period: number;
  readonly spans: Array<{ readonly fromMs: EpochMs; readonly toMs: EpochMs; readonly bucket: number }>;
}

export interface SearchPlan {
  readonly groups: Map<string, SpanGroup>;
  /** By raw partition (hour): each is read once, over its first part's start to its last part's end. */
  readonly raw: Map<number, RawRead>;
  /** The minutes it was planned with as unrolled (epoch minutes): in a sealed hour, only they are read raw. */
  readonly dirty: ReadonlySet<number>;
}

/**
 * The rollup pieces and raw partitions that answer [fromMs, toMs] in the buckets
 * `bounds` gives, given its dirty minutes; undefined past `maxPartitions` raw partitions.
 */
export function planSearch(
  fromMs: EpochMs,
  toMs: EpochMs,
  bounds: readonly EpochMs[],
  dirty: readonly number[],
  maxPartitions: number,
  scope: WorkScope,
): SearchPlan | undefined {
  const groups = new Map<string, SpanGroup>();
  const raw = new Map<number, RawRead>();
  for (let bucket = 0; bucket < bounds.length - 1; bucket++) {
    const from = Math.max(fromMs, bounds[bucket]!);
    const to = Math.min(toMs + 1, bounds[bucket + 1]!);
    if (from >= to) continue;
    const { spans: rolled, raw: spans } = coverRange(from, to, dirty);
    for (const { level, fromMs: spanFrom, toMs: spanTo } of rolled) {
      // One piece per storage partition the run crosses.
      for (let period = periodOf(level, spanFrom); period <= periodOf(level, spanTo - level.ms); period++) {
        groupOf(groups, `${level.name}/${period}`, () => ({
          level,
          period,
          spans: [] as SpanGroup['spans'],
        })).spans.push({
          fromMs: Math.max(spanFrom, periodStart(level, period)),
          toMs: Math.min(spanTo, periodStart(level, period + 1)),
          bucket,
        });
      }
    }
    for (const span of spans) {
      for (let partition = samplePartition(span.fromMs); partition <= samplePartition(span.toMs - 1); partition++) {
        const start = partition * MS_PER_HOUR;
        groupOf(raw, partition, () => [] as RawRead).push({
          bucket,
          fromMs: Math.max(span.fromMs, start),
          toMs: Math.min(span.toMs, start + MS_PER_HOUR),
        });
      }
    }
    if (raw.size > maxPartitions) return undefined;
    if (bucket % 256 === 255) checkScope(scope);
  }
  return { groups, raw, dirty: new Set(dirty) };
}

/**
 * Reads a plan: each rollup group as one slice; each raw partition's parts from
 * the minute rows of dense quarters where they cover whole minutes not written
 * since (rollup/levels.ts MINUTE), the rest point by point (from its hour's chunk
 * where sealed, storage/sealed-reads.ts); `add` gets each bucket's partials.
 */
export async function readPlan(
  reader: RangeReader,
  metricId: string,
  { groups, raw, dirty }: SearchPlan,
  concurrency: number,
  scope: WorkScope,
  add: (bucket: number, partial: PartialAggregate) => void,
): Promise<void> {
  const read = { reader, metricId, concurrency, scope, add };
  await settleAll([
    readGroups(read, groups),
    (async () => {
      const { minuteGroups, points } = await minutesOfDenseQuarters(read, raw, dirty);
      await settleAll([readGroups(read, minuteGroups), readPoints(read, points, dirty)]);
    })(),
  ]);
}

interface PlanRead {
  readonly reader: RangeReader;
  readonly metricId: string;
  readonly concurrency: number;
  readonly scope: WorkScope;
  readonly add: (bucket: number, partial: PartialAggregate) => void;
}

/** Each rollup group as one slice over its partition's runs (at most a partition's ~1,500 rows); rows between runs are skipped. */
async function readGroups(
  { reader, metricId, concurrency, scope, add }: PlanRead,
  groups: ReadonlyMap<string, SpanGroup>,
): Promise<void> {
  await forEachBounded([...groups.values()], concurrency, async ({ level, period, spans }) => {
    checkScope(scope);
    spans.sort((a, b) => a.fromMs - b.fromMs);
    const ends = spans.map((span) => span.toMs);
    for (const { start, aggregate } of await reader.readRollups(
      metricId,
      level,
      period,
      spans[0]!.fromMs,
      ends[ends.length - 1]!,
    )) {
      const at = firstAtOrAfter(ends, start + 1);
      const span = spans[at];
      if (span !== undefined && start >= span.fromMs) add(span.bucket, aggregate);
    }
  });
}

/** Each raw partition's parts point by point: one read from the first part's start to the last one's end. */
async function readPoints(
  { reader, metricId, concurrency, scope, add }: PlanRead,
  raw: ReadonlyMap<number, RawRead>,
  dirty: ReadonlySet<number>,
): Promise<void> {
  const chunks = await chunksOf(reader, metricId, [...raw.keys()]);
  await forEachBounded([...raw], concurrency, async ([partition, parts]) => {
    checkScope(scope);
    const [fromMs, toMs] = [parts[0]!.fromMs, parts[parts.length - 1]!.toMs];
    const part = { metricId, hour: partition, fromMs, toMs, chunk: chunks.get(partition) };
    const { ts, values } = await readHourPart(reader, { ...part, rawMinute: (minute) => dirty.has(minute) });
    // Points between two parts lie in buckets read from rollups: skipped.
    const ends = parts.map((read) => read.toMs);
    const folds = parts.map(() => new PointFold());
    for (let i = 0; i < ts.length; i++) {
      const at = firstAtOrAfter(ends, ts[i]! + 1);
      if (ts[i]! >= parts[at]!.fromMs) folds[at]!.add(ts[i]!, values[i]!);
    }
    parts.forEach((read, i) => add(read.bucket, folds[i]!.partial));
  });
}

/**
 * The raw parts split: whole minutes not written since, in quarters whose stored
 * row says they are dense, go to minute rollup groups; the rest stays points.
 */
async function minutesOfDenseQuarters(
  read: PlanRead,
  raw: ReadonlyMap<number, RawRead>,
  dirty: ReadonlySet<number>,
): Promise<{ minuteGroups: Map<string, SpanGroup>; points: Map<number, RawRead> }> {
  const dense = await denseQuarters(read, raw);
  const minuteGroups = new Map<string, SpanGroup>();
  if (dense.size === 0) return { minuteGroups, points: new Map(raw) };
  const points = new Map<number, RawRead>();
  for (const [partition, parts] of raw) {
    const left: RawRead = [];
    const period = periodOf(MINUTE, partition * MS_PER_HOUR);
    for (const { bucket, fromMs, toMs } of parts) {
      for (let at = fromMs; at < toMs;) {
        const quarter = bucketStart(QUARTER, at);
        const minuteEnd = bucketStart(MINUTE, at) + MS_PER_MINUTE;
        const end = Math.min(toMs, dense.has(quarter) ? minuteEnd : quarter + QUARTER.ms);
        const wholeMinute = at % MS_PER_MINUTE === 0 && end === minuteEnd;
        if (wholeMinute && dense.has(quarter) && !dirty.has(at / MS_PER_MINUTE)) {
          const group = groupOf(minuteGroups, `${MINUTE.name}/${period}`, () => ({
            level: MINUTE,
            period,
            spans: [] as SpanGroup['spans'],
          }));
          appendPiece(group.spans, bucket, at, end);
        } else appendPiece(left, bucket, at, end);
        at = end;
      }
    }
    if (left.length > 0) points.set(partition, left);
  }
  return { minuteGroups, points };
}

/** Appends [fromMs, toMs) of a bucket, merged into the last piece when it ends where this one starts. */
function appendPiece(
  pieces: Array<{ bucket: number; fromMs: EpochMs; toMs: EpochMs }>,
  bucket: number,
  fromMs: EpochMs,
  toMs: EpochMs,
): void {
  const last = pieces[pieces.length - 1];
  if (last !== undefined && last.bucket === bucket && last.toMs === fromMs) last.toMs = toMs;
  else pieces.push({ bucket, fromMs, toMs });
}

/** The dense quarters among those the raw parts touch, from their stored rows: one slice per run of nearby quarters. */
async function denseQuarters(
  { reader, metricId, concurrency, scope }: PlanRead,
  raw: ReadonlyMap<number, RawRead>,
): Promise<Set<EpochMs>> {
  const touched = new Set<EpochMs>();
  for (const parts of raw.values())
    for (const { fromMs, toMs } of parts)
      for (let quarter = bucketStart(QUARTER, fromMs); quarter < toMs; quarter += QUARTER.ms) touched.add(quarter);
  const runs: Array<{ fromMs: EpochMs; toMs: EpochMs }> = [];
  for (const quarter of [...touched].sort((a, b) => a - b)) {
    const last = runs[runs.length - 1];
    const samePeriod = last !== undefined && periodOf(QUARTER, last.fromMs) === periodOf(QUARTER, quarter);
    if (last !== undefined && samePeriod && quarter - last.toMs < NEARBY_MS) last.toMs = quarter + QUARTER.ms;
    else runs.push({ fromMs: quarter, toMs: quarter + QUARTER.ms });
  }
  const dense = new Set<EpochMs>();
  await forEachBounded(runs, concurrency, async ({ fromMs, toMs }) => {
    checkScope(scope);
    for (const { start, aggregate } of await reader.readRollups(
      metricId,
      QUARTER,
      periodOf(QUARTER, fromMs),
      fromMs,
      toMs,
    ))
      if (touched.has(start) && isDense(aggregate)) dense.add(start);
  });
  return dense;
}

/** Quarters this close are read in one slice, the rows between them too. */
const NEARBY_MS = 6 * MS_PER_HOUR;

export function tooManyPartitions(maxPartitions: number): Error {
  return invalidRequest(
    `the search would read raw points from more than ${maxPartitions} hours (MEETR_MAX_SEARCH_PARTITIONS): ` +
      'parts of the range not rolled up yet (just written) and buckets finer than 15 minutes are read point by point; narrow the range or retry once the roller caught up',
    [{ field: 'from', message: `with to, needs raw points from more than ${maxPartitions} hours` }],
  );
}
