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

export function createSearchService({ reader, concurrency }: SearchServiceOptions): SearchService {
  return {
    async aggregate(metricId, fromMs, toMs) {
      const days = await reader.daysWithPoints(metricId, dayBucket(fromMs), dayBucket(toMs));
      let total = EMPTY_AGGREGATE;
      await forEachBounded(days, concurrency, async (day) => {
        const partial = await reader.aggregateDay(metricId, day, fromMs, toMs);
        total = combine(total, partial); // after the await: `combine(total, await ...)` would read a stale total
      });
      return total;
    },
  };
}
