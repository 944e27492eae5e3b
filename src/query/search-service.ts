import { combine, EMPTY_AGGREGATE, finalize, type Aggregation, type PartialAggregate } from '../domain/aggregate.js';
import { createTurns } from '../concurrency.js';
import { OverloadedError } from '../errors.js';
import type { MetricSamples, SamplesQuery } from '../domain/point.js';
import type { RangeReader } from '../storage/ports.js';
import { readSamples } from './sample-reads.js';
import { planSearch, readPlan, tooManyPartitions, type SearchPlan } from './search-plan.js';
import { UnrolledMinutes } from './unrolled-minutes.js';
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

/**
 * Searches answer from rollups (roll-queue.ts, levels.ts): each bucket's part of the
 * range is covered by the coarsest clean rollup buckets inside it, and only the
 * partial quarters at its edges and the quarters of minutes the roller has not
 * rolled since they were written are read as points. At most `maxPartitions` raw
 * partitions are read; a search that needs more is refused before any is.
 */
export function createSearchService(options: SearchServiceOptions): SearchService {
  const { reader, concurrency, maxPartitions, clock = Date.now } = options;
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

  const aggregate = async (query: SearchQuery, scope: WorkScope): Promise<PartialAggregate[]> => {
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
    if (planned === undefined) throw tooManyPartitions(maxPartitions);
    await readPlan(reader, metricId, planned, concurrency, scope, add);
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

    samples: (queries, maxSamples, scope) =>
      readSamples(
        { reader, concurrency, maxPartitions, take: (s) => turns.take(s), unrolled },
        queries,
        maxSamples,
        scope,
      ),
  };
}
