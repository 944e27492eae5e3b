import { combine, EMPTY_AGGREGATE, finalize, type Aggregation, type PartialAggregate } from '../domain/aggregate.js';
import { createTurns, forEachBounded } from '../concurrency.js';
import { OverloadedError } from '../errors.js';
import type { MetricSamples, SamplesQuery } from '../domain/point.js';
import type { RangeReader } from '../storage/ports.js';
import { readSamples } from './sample-reads.js';
import { planSearch, readPlan, tooManyPartitions, type SearchPlan } from './search-plan.js';
import { UnrolledMinutes } from './unrolled-minutes.js';
import type { DecodedChunks } from './decoded-chunks.js';
import { plainBuckets, plainHours } from './plain-buckets.js';
import { rollupsKeptFrom, type Retention } from '../rollup/retention.js';
import { dayBucket } from '../time/day-bucket.js';
import { type EpochMs } from '../time/units.js';
import { untilAborted, type WorkScope } from '../work-scope.js';

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
  /** How long rollups are kept (MEETR_RETENTION_*): windows from rollups past their retention are read as samples. */
  readonly retention?: Retention;
  /** Decoded chunks kept for PromQL's reads (decoded-chunks.ts); none when absent. */
  readonly decodedChunks?: DecodedChunks;
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

/** A series' buckets for PromQL's windows (promql/rollup-windows.ts): n + 1 ascending instants, each a whole quarter. */
export interface WindowQuery {
  readonly metricId: string;
  readonly bounds: readonly EpochMs[];
}

/** Each bucket's aggregate, and 1 where it is what PromQL sees of the bucket's samples (plain-buckets.ts). */
export interface WindowBuckets {
  readonly partials: readonly PartialAggregate[];
  readonly plain: Uint8Array;
}

export interface SearchService {
  /** Aggregates the points of the query's metric with fromMs <= ts <= toMs, within `scope`. */
  search(query: SearchQuery, scope: WorkScope): Promise<SearchResult>;
  /**
   * The raw points of several metrics, in query order, as one search (one turn).
   * Throws query_too_large (422) past maxPartitions raw partitions or `maxSamples` points.
   */
  samples(queries: readonly SamplesQuery[], maxSamples: number, scope: WorkScope): Promise<MetricSamples[]>;
  /** The buckets of several series, as one search (one turn); a series whose raw reads would pass maxPartitions has no plain bucket. */
  windows(queries: readonly WindowQuery[], scope: WorkScope): Promise<WindowBuckets[]>;
}

/**
 * Searches answer from rollups (roll-queue.ts, levels.ts): each bucket's part of the
 * range is covered by the coarsest clean rollup buckets inside it, and only the
 * partial quarters at its edges and the quarters of minutes the roller has not
 * rolled since they were written are read as points. At most `maxPartitions` raw
 * partitions are read; a search that needs more is refused before any is.
 */
export function createSearchService(options: SearchServiceOptions): SearchService {
  const { reader, concurrency, maxPartitions, decodedChunks, clock = Date.now } = options;
  const turns = createTurns(
    options.maxSearches,
    options.maxWaitingSearches,
    (waiting) =>
      new OverloadedError(
        'searches_waiting',
        `the worker runs ${options.maxSearches} searches and has ${waiting} waiting (MEETR_MAX_SEARCHES, MEETR_MAX_WAITING_SEARCHES); retry shortly`,
      ),
  );

  const unrolled = new UnrolledMinutes({ ...options, clock });

  const context: Reads = { ...options, clock, unrolled };
  const aggregate = (query: BucketsQuery, scope: WorkScope): ReturnType<typeof aggregateBuckets> =>
    aggregateBuckets(context, query, scope);

  return {
    async search(query, scope) {
      const release = await turns.take(scope);
      try {
        const read = await untilAborted(aggregate(query, scope), scope.signal);
        if (read === undefined) throw tooManyPartitions(maxPartitions);
        const buckets = read.totals;
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

    async windows(queries, scope) {
      const release = await turns.take(scope);
      try {
        const answers = new Array<WindowBuckets>(queries.length);
        const read = forEachBounded([...queries.keys()], concurrency, async (i) => {
          answers[i] = await windowBuckets(context, queries[i]!, scope);
        });
        await untilAborted(read, scope.signal);
        return answers;
      } finally {
        release();
      }
    },

    samples: (queries, maxSamples, scope) =>
      readSamples(
        { reader, concurrency, maxPartitions, take: (s) => turns.take(s), unrolled, decodedChunks },
        queries,
        maxSamples,
        scope,
      ),
  };
}

type BucketsQuery = Pick<SearchQuery, 'metricId' | 'fromMs' | 'toMs' | 'buckets'>;

/** What a search reads with. */
interface Reads extends SearchServiceOptions {
  readonly clock: () => EpochMs;
  readonly unrolled: UnrolledMinutes;
}

/** The query's buckets' aggregates, and the unrolled minutes they were read with; undefined past maxPartitions raw partitions. */
async function aggregateBuckets(
  { reader, concurrency, maxPartitions, unrolled }: Reads,
  query: BucketsQuery,
  scope: WorkScope,
): Promise<{ totals: PartialAggregate[]; dirty: ReadonlySet<number> } | undefined> {
  const { metricId, fromMs, toMs } = query;
  const bounds = query.buckets ?? [fromMs, toMs + 1];
  const totals: PartialAggregate[] = new Array<PartialAggregate>(bounds.length - 1).fill(EMPTY_AGGREGATE);
  const add = (bucket: number, partial: PartialAggregate): void => {
    totals[bucket] = combine(totals[bucket]!, partial);
  };
  const plan = (dirty: readonly number[]): SearchPlan | undefined =>
    planSearch(fromMs, toMs, bounds, dirty, maxPartitions, scope);
  // A recent view of the roller's progress saves a read, but may still count minutes rolled since as dirty: ask before refusing.
  const [fromDay, toDay] = [dayBucket(fromMs), dayBucket(toMs)];
  const planned =
    plan(await unrolled.of(metricId, fromDay, toDay, scope)) ??
    plan(await unrolled.of(metricId, fromDay, toDay, scope, true));
  if (planned === undefined) return undefined;
  await readPlan(reader, metricId, planned, concurrency, scope, add);
  return { totals, dirty: planned.dirty };
}

/**
 * A series' buckets for PromQL's windows; none plain when its raw reads would pass
 * maxPartitions. The hours' marks are read first: where none is plain, as in
 * hours sealed before marks existed, no rollup is read in vain.
 */
async function windowBuckets(
  context: Reads,
  { metricId, bounds }: WindowQuery,
  scope: WorkScope,
): Promise<WindowBuckets> {
  const none = { partials: [], plain: new Uint8Array(bounds.length - 1) };
  const hours = await plainHours(context.reader, metricId, bounds, scope);
  if (!hours.good.includes(1)) return none;
  const last = bounds[bounds.length - 1]!;
  const read = await aggregateBuckets(
    context,
    { metricId, fromMs: bounds[0]!, toMs: last - 1, buckets: bounds },
    scope,
  );
  if (read === undefined) return none;
  const keptFromMs = rollupsKeptFrom(context.retention, context.clock());
  return { partials: read.totals, plain: plainBuckets(hours, bounds, { dirty: read.dirty, keptFromMs }) };
}
