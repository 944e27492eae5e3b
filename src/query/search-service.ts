import {
  combine,
  EMPTY_AGGREGATE,
  finalize,
  PointFold,
  type Aggregation,
  type PartialAggregate,
} from '../domain/aggregate.js';
import { createTurns, forEachBounded, settleAll } from '../concurrency.js';
import { invalidRequest, MeetrError, OverloadedError } from '../errors.js';
import { coverRange, firstAtOrAfter, periodOf, periodStart, type Level } from '../rollup/levels.js';
import { epochMinute, lastPossibleSlot, shardOf, SLOT_MS } from '../rollup/roll-queue.js';
import type { MetricSamples, SamplesQuery, SpecialValue } from '../domain/point.js';
import type { RangeReader } from '../storage/ports.js';
import { dayBucket } from '../time/day-bucket.js';
import { MS_PER_HOUR, type EpochMs } from '../time/units.js';
import { checkScope, untilAborted, type WorkScope } from '../work-scope.js';
import { samplePartition } from '../domain/partitions.js';

export interface SearchServiceOptions {
  readonly reader: RangeReader;
  /** Storage reads one search runs at once. */
  readonly concurrency: number;
  /** Searches run at once per worker; more wait. */
  readonly maxSearches: number;
  /** Searches that may wait for a turn; more are shed. */
  readonly maxWaitingSearches: number;
  /** Raw partitions one search may read point by point; a search needing more is refused. */
  readonly maxPartitions: number;
  /** The longest hold a worker gives a write (roll-queue.ts): how far ahead of now queued slots may lie. */
  readonly maxHoldMs: number;
  /** How far apart two processes' clocks may be (roll-queue.ts clockMarginMs): the queue is read this much further ahead. */
  readonly clockMarginMs: number;
  readonly clock?: () => EpochMs;
}

/** A validated range search over `[fromMs, toMs]`, both inclusive. */
export interface SearchQuery {
  readonly metricId: string;
  readonly fromMs: EpochMs;
  readonly toMs: EpochMs;
  readonly aggregation: Aggregation;
  /**
   * For a series, its buckets as bucketBounds gives them: n buckets are n + 1
   * ascending instants, the first at or before fromMs, the last after toMs.
   */
  readonly buckets?: readonly EpochMs[];
}

/** One bucket of a series: its start, and the aggregate of its points inside the search's range. */
export interface SeriesBucket {
  readonly ts: EpochMs;
  readonly value: number | null;
  readonly count: number;
}

/** The answer to a search: `value` is null when no point lies in the range, whatever the aggregation. */
export interface SearchResult {
  readonly value: number | null;
  readonly count: number;
  /** Every bucket of the query's, in order, when it asked for a series. */
  readonly series?: readonly SeriesBucket[];
}

export interface SearchService {
  /** Aggregates the points of the query's metric with fromMs <= ts <= toMs, within `scope`. */
  search(query: SearchQuery, scope: WorkScope): Promise<SearchResult>;
  /**
   * The raw points of several metrics, in query order, as one search (one turn).
   * Throws query_too_large (422) past maxPartitions raw partitions or `maxSamples` points.
   */
  samples(queries: readonly SamplesQuery[], maxSamples: number, scope: WorkScope): Promise<MetricSamples[]>;
}

/** Roll-queue slots a search reads at most (a day of them): a roller further behind makes searches 503. */
const MAX_UNROLLED_SLOTS = 86_400_000 / SLOT_MS;

/** How far behind a search's known progress of a shard may lie (2 minutes of slots) before it asks for it first. */
const STALE_SLOTS = 24;

/** A part of the range read from raw points, in one raw partition, for one bucket. */
interface RawRead {
  readonly bucket: number;
  readonly partition: number;
  readonly fromMs: EpochMs;
  readonly toMs: EpochMs;
}

/** The runs of rollup buckets one search reads from one storage partition (ascending, disjoint), and the bucket each counts toward. */
interface SpanGroup {
  readonly level: Level;
  readonly period: number;
  readonly spans: Array<{ readonly fromMs: EpochMs; readonly toMs: EpochMs; readonly bucket: number }>;
}

/**
 * Searches answer from rollups (roll-queue.ts, levels.ts): each bucket's part of the
 * range is covered by the coarsest clean rollup buckets inside it, and only the
 * partial minutes at its edges and the minutes the roller has not rolled since
 * they were written are read as raw points. At most `maxPartitions` raw partitions
 * are read; a search that needs more is refused before any is.
 */
export function createSearchService(options: SearchServiceOptions): SearchService {
  const { reader, concurrency, maxPartitions, maxHoldMs, clockMarginMs, clock = Date.now } = options;
  const turns = createTurns(
    options.maxSearches,
    options.maxWaitingSearches,
    (waiting) =>
      new OverloadedError(
        'searches_waiting',
        `the worker runs ${options.maxSearches} searches and has ${waiting} waiting (MEETR_MAX_SEARCHES, MEETR_MAX_WAITING_SEARCHES); retry shortly`,
      ),
  );

  /**
   * The first slot of each shard last seen not rolled. It only grows, and reading
   * the queue from an older slot than the roller's reads a superset of what is
   * unrolled, which is still exact: so a search reads the queue from here while it
   * asks for the shard's progress, instead of one round trip after the other.
   */
  const knownRolledThrough = new Map<number, number>();

  /**
   * The minutes of [fromDay, toDay] that may have been written since their rollups
   * were computed, ascending. `fresh` asks the roller's progress even when a recent one is known.
   */
  const dirtyMinutes = async (
    metricId: string,
    fromDay: number,
    toDay: number,
    scope: WorkScope,
    fresh = false,
  ): Promise<number[]> => {
    const shard = shardOf(metricId);
    const last = lastPossibleSlot(clock(), maxHoldMs, clockMarginMs);
    const progress = reader.rolledThrough(shard).then((slot) => {
      knownRolledThrough.set(shard, Math.max(slot, knownRolledThrough.get(shard) ?? slot));
      return slot;
    });
    const known = knownRolledThrough.get(shard);
    // Before the queue is read: every slot before it is rolled.
    const first = !fresh && known !== undefined && last - known < STALE_SLOTS ? known : await progress;
    progress.catch(() => undefined); // when not awaited: only a cache update
    if (last - first + 1 > MAX_UNROLLED_SLOTS) {
      throw new OverloadedError(
        'rollups_behind',
        `the roller is ${Math.round(((last - first) * SLOT_MS) / 60_000)} minutes behind for this metric; searches resume once it catches up (./meetr status)`,
      );
    }
    const minutes = new Set<number>();
    const slots = Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i);
    await forEachBounded(slots, concurrency, async (slot) => {
      checkScope(scope);
      for (const { day, minutes: list } of await reader.dirtyDays(shard, slot, metricId, fromDay, toDay)) {
        for (const minute of list) minutes.add(epochMinute(day, minute));
      }
    });
    return [...minutes].sort((a, b) => a - b);
  };

  const aggregate = async (query: SearchQuery, scope: WorkScope): Promise<PartialAggregate[]> => {
    const { metricId, fromMs, toMs } = query;
    const bounds = query.buckets ?? [fromMs, toMs + 1];
    const totals: PartialAggregate[] = new Array<PartialAggregate>(bounds.length - 1).fill(EMPTY_AGGREGATE);
    const add = (bucket: number, partial: PartialAggregate): void => {
      totals[bucket] = combine(totals[bucket]!, partial);
    };
    /** The rollup pieces and raw partitions that answer the range, given its dirty minutes; undefined past MEETR_MAX_SEARCH_PARTITIONS. */
    const plan = (dirty: readonly number[]): { groups: Map<string, SpanGroup>; raw: RawRead[] } | undefined => {
      const groups = new Map<string, SpanGroup>();
      const raw: RawRead[] = [];
      for (let bucket = 0; bucket < bounds.length - 1; bucket++) {
        const from = Math.max(fromMs, bounds[bucket]!);
        const to = Math.min(toMs + 1, bounds[bucket + 1]!);
        if (from >= to) continue;
        const { spans: rolled, raw: spans } = coverRange(from, to, dirty);
        for (const { level, fromMs: spanFrom, toMs: spanTo } of rolled) {
          // One piece per storage partition the run crosses.
          for (let period = periodOf(level, spanFrom); period <= periodOf(level, spanTo - level.ms); period++) {
            const key = `${level.name}/${period}`;
            let group = groups.get(key);
            if (group === undefined) groups.set(key, (group = { level, period, spans: [] }));
            group.spans.push({
              fromMs: Math.max(spanFrom, periodStart(level, period)),
              toMs: Math.min(spanTo, periodStart(level, period + 1)),
              bucket,
            });
          }
        }
        for (const span of spans) {
          for (let partition = samplePartition(span.fromMs); partition <= samplePartition(span.toMs - 1); partition++) {
            const start = partition * MS_PER_HOUR;
            raw.push({
              bucket,
              partition,
              fromMs: Math.max(span.fromMs, start),
              toMs: Math.min(span.toMs, start + MS_PER_HOUR),
            });
          }
        }
        if (raw.length > maxPartitions) return undefined;
        if (bucket % 256 === 255) checkScope(scope);
      }
      return { groups, raw };
    };
    // A recent view of the roller's progress saves a read, but may still count minutes rolled since as dirty: ask before refusing.
    const [fromDay, toDay] = [dayBucket(fromMs), dayBucket(toMs)];
    const planned =
      plan(await dirtyMinutes(metricId, fromDay, toDay, scope)) ??
      plan(await dirtyMinutes(metricId, fromDay, toDay, scope, true));
    if (planned === undefined) throw tooManyPartitions(maxPartitions);
    const { groups, raw } = planned;

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
      forEachBounded(raw, concurrency, async ({ bucket, partition, fromMs: from, toMs: to }) => {
        checkScope(scope);
        const fold = new PointFold();
        await reader.scanPoints(metricId, partition, from, to, (ts, value) => fold.add(ts, value));
        add(bucket, fold.partial);
      }),
    ]);
    return totals;
  };

  return {
    async search(query, scope) {
      const release = await turns.take(scope);
      try {
        const buckets = await untilAborted(aggregate(query, scope), scope.signal);
        const total = buckets.reduce(combine, EMPTY_AGGREGATE);
        const result = { value: finalize(total, query.aggregation), count: total.count };
        if (query.buckets === undefined) return result;
        const series = buckets.map((bucket, i) => ({
          ts: query.buckets![i]!,
          value: finalize(bucket, query.aggregation),
          count: bucket.count,
        }));
        return { ...result, series };
      } finally {
        release();
      }
    },

    async samples(queries, maxSamples, scope) {
      const reads: Array<{ query: number; partition: number; ts: number[]; values: number[] }> = [];
      const specialReads: Array<{ query: number; day: number; samples: SpecialValue[] }> = [];
      // Counted before any list is built: a range of ten thousand years is refused, not enumerated.
      let partitions = 0;
      for (const { fromMs, toMs } of queries) {
        partitions += samplePartition(toMs) - samplePartition(fromMs) + 1;
        if (partitions > maxPartitions) {
          throw new MeetrError(
            'query_too_large',
            `the query reads raw points of more than ${maxPartitions} (series, hour) partitions (MEETR_MAX_SEARCH_PARTITIONS); select fewer series or a shorter range`,
          );
        }
      }
      for (let query = 0; query < queries.length; query++) {
        const { fromMs, toMs } = queries[query]!;
        for (let partition = samplePartition(fromMs); partition <= samplePartition(toMs); partition++)
          reads.push({ query, partition, ts: [], values: [] });
        for (let day = dayBucket(fromMs); day <= dayBucket(toMs); day++) specialReads.push({ query, day, samples: [] });
      }
      const release = await turns.take(scope);
      let loaded = 0;
      try {
        await untilAborted(
          settleAll([
            forEachBounded(reads, concurrency, async (read) => {
              checkScope(scope);
              const { metricId, fromMs, toMs } = queries[read.query]!;
              await reader.scanPoints(metricId, read.partition, fromMs, toMs + 1, (ts, value) => {
                if (++loaded > maxSamples)
                  throw new MeetrError(
                    'query_too_large',
                    `query processing would load too many samples into memory (more than ${maxSamples}, MEETR_MAX_QUERY_SAMPLES)`,
                  );
                read.ts.push(ts);
                read.values.push(value);
              });
            }),
            // Special samples are rare: a day partition each, read beside the points.
            forEachBounded(specialReads, concurrency, async (read) => {
              checkScope(scope);
              const { metricId, fromMs, toMs } = queries[read.query]!;
              read.samples.push(...(await reader.specialSamples(metricId, read.day, fromMs, toMs + 1)));
            }),
          ]),
          scope.signal,
        );
      } finally {
        release();
      }
      const answers = queries.map(({ metricId }) => ({
        metricId,
        ts: [] as number[],
        values: [] as number[],
        special: [] as SpecialValue[],
      }));
      for (const read of specialReads) answers[read.query]!.special.push(...read.samples);
      for (const read of reads) {
        const answer = answers[read.query]!;
        for (let i = 0; i < read.ts.length; i++) {
          answer.ts.push(read.ts[i]!);
          answer.values.push(read.values[i]!);
        }
      }
      return answers;
    },
  };
}

function tooManyPartitions(maxPartitions: number): Error {
  return invalidRequest(
    `the search would read raw points from more than ${maxPartitions} hours (MEETR_MAX_SEARCH_PARTITIONS): ` +
      'parts of the range not rolled up yet (just written) and buckets finer than a minute are read point by point; narrow the range or retry once the roller caught up',
    [{ field: 'from', message: `with to, needs raw points from more than ${maxPartitions} hours` }],
  );
}
