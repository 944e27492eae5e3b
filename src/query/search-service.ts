import { combine, EMPTY_AGGREGATE, finalize, type Aggregation, type PartialAggregate } from '../domain/aggregate.js';
import { forEachBounded } from '../concurrency.js';
import type { DayEntry, RangeReader } from '../storage/ports.js';
import { dayBucket, dayEndMs, dayStartMs, isClosedDay } from '../time/day-bucket.js';
import type { EpochMs } from '../time/units.js';

export interface SearchServiceOptions {
  readonly reader: RangeReader;
  /** Day partitions aggregated at once. */
  readonly concurrency: number;
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
  /** Aggregates the points of the query's metric with fromMs <= ts <= toMs. */
  search(query: SearchQuery): Promise<SearchResult>;
}

/** Up to this many days, asking the day index first costs as much as querying each day. */
const DIRECT_DAYS = 2;

/**
 * How far before a search's start its summaries are dated. A write's invalidation
 * is dated after the write was acknowledged; dating summaries a little earlier
 * keeps that order true across hosts whose clocks differ by less than this.
 */
export const SUMMARY_CLOCK_MARGIN_MS = 1_000;

/**
 * Searches combine per-day partials: a day wholly inside the range uses its cached
 * summary when one is valid, and a closed day without one is aggregated from its
 * points and cached for the next search; the (at most two) days the range only
 * partly covers are always aggregated from their points.
 */
export function createSearchService({ reader, concurrency, clock = Date.now, onCacheError = () => undefined }: SearchServiceOptions): SearchService {
  const aggregate = async (metricId: string, fromMs: EpochMs, toMs: EpochMs): Promise<PartialAggregate> => {
    const [fromDay, toDay] = [dayBucket(fromMs), dayBucket(toMs)];
    const direct = toDay - fromDay < DIRECT_DAYS;
    const asOf = clock() - SUMMARY_CLOCK_MARGIN_MS; // before any read
    const entries: DayEntry[] = direct
      ? Array.from({ length: toDay - fromDay + 1 }, (_, i) => ({ day: fromDay + i, summary: undefined }))
      : await reader.daysWithPoints(metricId, fromDay, toDay);
    let total = EMPTY_AGGREGATE;
    const computed: Array<{ day: number; summary: PartialAggregate }> = [];
    await forEachBounded(entries, concurrency, async ({ day, summary }) => {
      const whole = dayStartMs(day) >= fromMs && dayEndMs(day) <= toMs;
      let partial: PartialAggregate;
      if (whole && summary !== undefined) {
        partial = summary;
      } else if (whole && !direct && isClosedDay(day, clock())) {
        partial = await reader.aggregateDay(metricId, day, dayStartMs(day), dayEndMs(day));
        computed.push({ day, summary: partial });
      } else {
        partial = await reader.aggregateDay(metricId, day, fromMs, toMs);
      }
      total = combine(total, partial); // after the await: `combine(total, await ...)` would read a stale total
    });
    // One single-partition batch for all of them; failing to cache never fails the search.
    if (computed.length > 0) await reader.saveDaySummaries(metricId, computed, asOf).catch(onCacheError);
    return total;
  };

  return {
    async search({ metricId, fromMs, toMs, aggregation }) {
      const total = await aggregate(metricId, fromMs, toMs);
      return { value: finalize(total, aggregation), count: total.count };
    },
  };
}
