/**
 * Aggregates are computed per day partition inside Cassandra and combined here.
 * Combining is associative and commutative, so partitions may arrive in any order.
 */

export const AGGREGATIONS = ['sum', 'avg', 'min', 'max', 'count'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

/** What one partition (or any set of points) contributes to a search. */
export interface PartialAggregate {
  readonly count: number;
  /** Running sum kept as a Neumaier pair, so many partials add up without drift. */
  readonly sum: number;
  readonly compensation: number;
  readonly min: number;
  readonly max: number;
}

export const EMPTY_AGGREGATE: PartialAggregate = { count: 0, sum: 0, compensation: 0, min: Infinity, max: -Infinity };

/** A partial from one partition's count/sum/min/max. */
export function partialOf(count: number, sum: number, min: number, max: number): PartialAggregate {
  return count === 0 ? EMPTY_AGGREGATE : { count, sum, compensation: 0, min, max };
}

export function combine(a: PartialAggregate, b: PartialAggregate): PartialAggregate {
  if (a.count === 0) return b;
  if (b.count === 0) return a;
  const total = a.sum + b.sum;
  const lost = Math.abs(a.sum) >= Math.abs(b.sum) ? a.sum - total + b.sum : b.sum - total + a.sum;
  return {
    count: a.count + b.count,
    sum: total,
    compensation: a.compensation + b.compensation + lost,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
  };
}

/** The answer for an aggregation: null when there are no points (whatever the aggregation). */
export function finalize(aggregate: PartialAggregate, aggregation: Aggregation): number | null {
  if (aggregate.count === 0) return null;
  const sum = aggregate.sum + aggregate.compensation;
  switch (aggregation) {
    case 'sum':
      return sum;
    case 'avg':
      return sum / aggregate.count;
    case 'min':
      return aggregate.min;
    case 'max':
      return aggregate.max;
    case 'count':
      return aggregate.count;
  }
}
