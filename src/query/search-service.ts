import { combine, EMPTY_AGGREGATE, type PartialAggregate } from '../domain/aggregate.js';
import { forEachBounded } from '../concurrency.js';
import type { RangeReader } from '../storage/ports.js';
import { dayBucket } from '../time/day-bucket.js';
import type { EpochMs } from '../time/timestamp.js';

export interface SearchServiceOptions {
  readonly reader: RangeReader;
  /** Day partitions aggregated at once. */
  readonly concurrency: number;
}

export interface SearchService {
  /** Aggregates the points of `metricId` with fromMs <= ts <= toMs; each day partition is aggregated by Cassandra. */
  aggregate(metricId: string, fromMs: EpochMs, toMs: EpochMs): Promise<PartialAggregate>;
}

/** Up to this many days, asking the day index first costs as much as querying each day. */
const DIRECT_DAYS = 2;

export function createSearchService({ reader, concurrency }: SearchServiceOptions): SearchService {
  return {
    async aggregate(metricId, fromMs, toMs) {
      const [fromDay, toDay] = [dayBucket(fromMs), dayBucket(toMs)];
      const days =
        toDay - fromDay < DIRECT_DAYS
          ? Array.from({ length: toDay - fromDay + 1 }, (_, i) => fromDay + i)
          : await reader.daysWithPoints(metricId, fromDay, toDay);
      let total = EMPTY_AGGREGATE;
      await forEachBounded(days, concurrency, async (day) => {
        const partial = await reader.aggregateDay(metricId, day, fromMs, toMs);
        total = combine(total, partial); // after the await: `combine(total, await ...)` would read a stale total
      });
      return total;
    },
  };
}
