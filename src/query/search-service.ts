import { combine, EMPTY_AGGREGATE, finalize, needsTimestamps, PointFold, type Aggregation, type PartialAggregate } from '../domain/aggregate.js';
import { forEachBounded } from '../concurrency.js';
import { invalidRequest, OverloadedError } from '../errors.js';
import type { DayEntry, RangeReader } from '../storage/ports.js';
import { dayBucket, dayEndMs, dayStartMs, isClosedDay } from '../time/day-bucket.js';
import { bucketIndex } from '../time/series-buckets.js';
import type { EpochMs } from '../time/units.js';
import { checkScope, untilAborted, type WorkScope } from '../work-scope.js';

export interface SearchServiceOptions {
  readonly reader: RangeReader;
  /** Day partitions one search aggregates at once. */
  readonly concurrency: number;
  /** Searches run at once per worker; more wait. */
  readonly maxSearches: number;
  /** Searches that may wait for a turn; more are shed. */
  readonly maxWaitingSearches: number;
  /** Day partitions one search may aggregate point by point; a search needing more is refused. */
  readonly maxPartitions: number;
  readonly clock?: () => EpochMs;
  /** Told when a summary could not be cached (the search itself still answers). */
  readonly onCacheError?: (error: unknown) => void;
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
}

/** Up to this many days, asking the day index first costs as much as querying each day. */
const DIRECT_DAYS = 2;

/**
 * A day that meets more buckets than this is read point by point (one query) rather
 * than aggregated by Cassandra once per bucket.
 */
const AGGREGATED_PIECES_PER_DAY = 4;

/** The part of one day partition that falls in one bucket (and in the range): [fromMs, toMs]. */
interface Piece {
  readonly bucket: number;
  readonly fromMs: EpochMs;
  readonly toMs: EpochMs;
}

/** A day partition to read: aggregated by Cassandra piece by piece, or scanned point by point. */
interface RawDay {
  readonly day: number;
  readonly pieces: readonly Piece[];
  readonly scan: boolean;
  /** Whether the read covers the whole closed, unheld day, and its summary may be cached. */
  readonly cache: boolean;
}

/**
 * How far before a search's start its summaries are dated. A hold on a day's
 * summaries is dated by the clock of the worker that wrote; dating summaries a
 * little earlier keeps the order true across hosts whose clocks differ by less.
 */
export const SUMMARY_CLOCK_MARGIN_MS = 1_000;

/**
 * Searches combine per-day partials: a day wholly inside the range uses its cached
 * summary when one is valid, and a closed, unheld day without one is aggregated from
 * its points and cached for the next search; the (at most two) days the range only
 * partly covers are always aggregated from their points. At most `maxPartitions`
 * days are aggregated from points; a search that needs more is refused before any is.
 */
export function createSearchService(options: SearchServiceOptions): SearchService {
  const { reader, concurrency, maxPartitions, clock = Date.now, onCacheError = () => undefined } = options;
  const turns = createTurns(options.maxSearches, options.maxWaitingSearches);

  const aggregate = async (query: SearchQuery, scope: WorkScope): Promise<PartialAggregate[]> => {
    const { metricId, fromMs, toMs } = query;
    const bounds = query.buckets ?? [fromMs, toMs + 1];
    const timestamps = needsTimestamps(query.aggregation);
    const totals: PartialAggregate[] = new Array<PartialAggregate>(bounds.length - 1).fill(EMPTY_AGGREGATE);
    const add = (bucket: number, partial: PartialAggregate): void => {
      totals[bucket] = combine(totals[bucket]!, partial);
    };
    const [fromDay, toDay] = [dayBucket(fromMs), dayBucket(toMs)];
    const now = clock(); // before any read
    const asOf = now - SUMMARY_CLOCK_MARGIN_MS;
    const raw: RawDay[] = [];
    /** `entry` as the day index gave it, or (indexed false) a day asked for directly, whose holds are unknown. */
    const visit = ({ day, summary, heldUntilMs }: DayEntry, indexed: boolean): void => {
      const pieces = piecesOf(bounds, Math.max(fromMs, dayStartMs(day)), Math.min(toMs, dayEndMs(day)));
      const whole = pieces.length === 1 && pieces[0]!.fromMs === dayStartMs(day) && pieces[0]!.toMs === dayEndMs(day);
      if (whole && summary !== undefined && !timestamps) return add(pieces[0]!.bucket, summary);
      if (raw.length === maxPartitions) throw tooManyPartitions(maxPartitions);
      const cacheable = indexed && whole && !timestamps && isClosedDay(day, now) && (heldUntilMs === undefined || heldUntilMs < asOf);
      raw.push({ day, pieces, scan: timestamps || pieces.length > AGGREGATED_PIECES_PER_DAY, cache: cacheable });
    };
    if (toDay - fromDay < DIRECT_DAYS) {
      for (let day = fromDay; day <= toDay; day++) visit({ day, summary: undefined, heldUntilMs: undefined }, false);
    } else {
      await reader.forEachDay(metricId, fromDay, toDay, (entry) => {
        visit(entry, true);
        checkScope(scope);
      });
    }
    const computed: Array<{ day: number; summary: PartialAggregate }> = [];
    await forEachBounded(raw, concurrency, async ({ day, pieces, scan, cache }) => {
      checkScope(scope);
      if (scan) {
        const folds = pieces.map(() => new PointFold());
        let at = 0;
        await reader.scanPoints(metricId, day, pieces[0]!.fromMs, pieces[pieces.length - 1]!.toMs, (ts, value) => {
          while (ts > pieces[at]!.toMs) at++; // points come in ascending order
          folds[at]!.add(ts, value);
        });
        pieces.forEach((piece, i) => add(piece.bucket, folds[i]!.partial));
        return;
      }
      for (const piece of pieces) {
        const partial = await reader.aggregateDay(metricId, day, piece.fromMs, piece.toMs);
        if (cache) computed.push({ day, summary: partial });
        add(piece.bucket, partial); // after the await: `combine(total, await ...)` would read a stale total
      }
    });
    // One single-partition batch for all of them; failing to cache never fails the search.
    if (computed.length > 0) await reader.saveDaySummaries(metricId, computed, asOf).catch(onCacheError);
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
        const series = buckets.map((bucket, i) => ({ ts: query.buckets![i]!, value: finalize(bucket, query.aggregation), count: bucket.count }));
        return { ...result, series };
      } finally {
        release();
      }
    },
  };
}

/** [fromMs, toMs] (inside one day) cut at the bucket bounds it crosses. */
function piecesOf(bounds: readonly EpochMs[], fromMs: EpochMs, toMs: EpochMs): Piece[] {
  const pieces: Piece[] = [];
  for (let bucket = Math.max(0, bucketIndex(bounds, fromMs)); bucket < bounds.length - 1 && bounds[bucket]! <= toMs; bucket++) {
    pieces.push({ bucket, fromMs: Math.max(fromMs, bounds[bucket]!), toMs: Math.min(toMs, bounds[bucket + 1]! - 1) });
  }
  return pieces;
}

function tooManyPartitions(maxPartitions: number): Error {
  return invalidRequest(
    `the search would read more than ${maxPartitions} days of points one by one (MEETR_MAX_SEARCH_PARTITIONS); ` +
      'narrow the range, or search closed whole days, whose summaries are cached',
    [{ field: 'from', message: `with to, spans more than ${maxPartitions} days with points that have no cached summary` }],
  );
}

/** At most `limit` holders at once, at most `maxWaiting` waiting (first come first served); more are shed. */
function createTurns(limit: number, maxWaiting: number) {
  let running = 0;
  const waiting: Array<{ grant: () => void }> = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next === undefined) running--;
    else next.grant();
  };
  return {
    take(scope: WorkScope): Promise<() => void> {
      checkScope(scope);
      if (running < limit) {
        running++;
        return Promise.resolve(release);
      }
      if (waiting.length >= maxWaiting) {
        return Promise.reject(
          new OverloadedError('searches_waiting', `the worker runs ${limit} searches and has ${waiting.length} waiting (MEETR_MAX_SEARCHES, MEETR_MAX_WAITING_SEARCHES); retry shortly`),
        );
      }
      return new Promise((resolve, reject) => {
        const entry = {
          grant: () => {
            scope.signal.removeEventListener('abort', onAbort);
            resolve(release);
          },
        };
        const onAbort = (): void => {
          waiting.splice(waiting.indexOf(entry), 1);
          reject(scope.signal.reason);
        };
        scope.signal.addEventListener('abort', onAbort, { once: true });
        waiting.push(entry);
      });
    },
  };
}
