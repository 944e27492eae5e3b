import { combine, EMPTY_AGGREGATE, finalize, type Aggregation, type PartialAggregate } from '../domain/aggregate.js';
import { forEachBounded } from '../concurrency.js';
import { invalidRequest, OverloadedError } from '../errors.js';
import type { RangeReader } from '../storage/ports.js';
import { dayBucket, dayEndMs, dayStartMs, isClosedDay } from '../time/day-bucket.js';
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
}

/** The answer to a search: `value` is null when no point lies in the range, whatever the aggregation. */
export interface SearchResult {
  readonly value: number | null;
  readonly count: number;
}

export interface SearchService {
  /** Aggregates the points of the query's metric with fromMs <= ts <= toMs, within `scope`. */
  search(query: SearchQuery, scope: WorkScope): Promise<SearchResult>;
}

/** Up to this many days, asking the day index first costs as much as querying each day. */
const DIRECT_DAYS = 2;

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

  const aggregate = async ({ metricId, fromMs, toMs }: SearchQuery, scope: WorkScope): Promise<PartialAggregate> => {
    const [fromDay, toDay] = [dayBucket(fromMs), dayBucket(toMs)];
    const direct = toDay - fromDay < DIRECT_DAYS;
    const asOf = clock() - SUMMARY_CLOCK_MARGIN_MS; // before any read
    let total = EMPTY_AGGREGATE;
    /** Days read point by point: [day, whether the whole day is in range and may be cached]. */
    const raw: Array<{ day: number; cache: boolean }> = [];
    const rawDay = (day: number, cache: boolean): void => {
      if (raw.length === maxPartitions) throw tooManyPartitions(maxPartitions);
      raw.push({ day, cache });
    };
    if (direct) {
      for (let day = fromDay; day <= toDay; day++) rawDay(day, false);
    } else {
      const now = clock();
      await reader.forEachDay(metricId, fromDay, toDay, ({ day, summary, heldUntilMs }) => {
        const whole = dayStartMs(day) >= fromMs && dayEndMs(day) <= toMs;
        if (whole && summary !== undefined) total = combine(total, summary);
        else rawDay(day, whole && isClosedDay(day, now) && (heldUntilMs === undefined || heldUntilMs < asOf));
        checkScope(scope);
      });
    }
    const computed: Array<{ day: number; summary: PartialAggregate }> = [];
    await forEachBounded(raw, concurrency, async ({ day, cache }) => {
      checkScope(scope);
      const partial = cache
        ? await reader.aggregateDay(metricId, day, dayStartMs(day), dayEndMs(day))
        : await reader.aggregateDay(metricId, day, Math.max(fromMs, dayStartMs(day)), Math.min(toMs, dayEndMs(day)));
      if (cache) computed.push({ day, summary: partial });
      total = combine(total, partial); // after the await: `combine(total, await ...)` would read a stale total
    });
    // One single-partition batch for all of them; failing to cache never fails the search.
    if (computed.length > 0) await reader.saveDaySummaries(metricId, computed, asOf).catch(onCacheError);
    return total;
  };

  return {
    async search(query, scope) {
      const release = await turns.take(scope);
      try {
        const total = await untilAborted(aggregate(query, scope), scope.signal);
        return { value: finalize(total, query.aggregation), count: total.count };
      } finally {
        release();
      }
    },
  };
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
