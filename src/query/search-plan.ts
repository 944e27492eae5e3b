/**
 * A search's plan: each bucket's part of the range covered by the coarsest clean
 * rollups inside it (grouped per storage partition), the rest (edges, quarters
 * with unrolled minutes) as points, read once per hour partition; then reading the plan into per-bucket
 * partial aggregates.
 */
import { forEachBounded, settleAll } from '../concurrency.js';
import { PointFold, type PartialAggregate } from '../domain/aggregate.js';
import { groupOf } from '../domain/groups.js';
import { samplePartition } from '../domain/partitions.js';
import { invalidRequest } from '../errors.js';
import { coverRange, periodOf, periodStart, type Level } from '../rollup/levels.js';
import type { RangeReader } from '../storage/ports.js';
import { chunksOf, readHourPart } from '../storage/sealed-reads.js';
import { MS_PER_HOUR, type EpochMs } from '../time/units.js';
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
 * Reads a plan: each rollup group as one slice, each raw read point by point (from
 * its hour's chunk where sealed, storage/sealed-reads.ts); `add` gets each bucket's partials.
 */
export async function readPlan(
  reader: RangeReader,
  metricId: string,
  { groups, raw, dirty }: SearchPlan,
  concurrency: number,
  scope: WorkScope,
  add: (bucket: number, partial: PartialAggregate) => void,
): Promise<void> {
  await settleAll([
    forEachBounded([...groups.values()], concurrency, async ({ level, period, spans }) => {
      checkScope(scope);
      spans.sort((a, b) => a.fromMs - b.fromMs);
      const ends = spans.map((span) => span.toMs);
      // One slice over the partition's runs (at most a partition's ~1,500 rows); rows between runs are dirty and skipped.
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
    }),
    (async () => {
      const chunks = await chunksOf(reader, metricId, [...raw.keys()]);
      await forEachBounded([...raw], concurrency, async ([partition, parts]) => {
        checkScope(scope);
        const [fromMs, toMs] = [parts[0]!.fromMs, parts[parts.length - 1]!.toMs];
        const part = { metricId, hour: partition, fromMs, toMs, chunk: chunks.get(partition) };
        const { ts, values } = await readHourPart(reader, { ...part, rawMinute: (minute) => dirty.has(minute) });
        // Points between two parts lie in rolled-up buckets, read from their rollups: skipped.
        const ends = parts.map((read) => read.toMs);
        const folds = parts.map(() => new PointFold());
        for (let i = 0; i < ts.length; i++) {
          const at = firstAtOrAfter(ends, ts[i]! + 1);
          if (ts[i]! >= parts[at]!.fromMs) folds[at]!.add(ts[i]!, values[i]!);
        }
        parts.forEach((read, i) => add(read.bucket, folds[i]!.partial));
      });
    })(),
  ]);
}

export function tooManyPartitions(maxPartitions: number): Error {
  return invalidRequest(
    `the search would read raw points from more than ${maxPartitions} hours (MEETR_MAX_SEARCH_PARTITIONS): ` +
      'parts of the range not rolled up yet (just written) and buckets finer than 15 minutes are read point by point; narrow the range or retry once the roller caught up',
    [{ field: 'from', message: `with to, needs raw points from more than ${maxPartitions} hours` }],
  );
}
