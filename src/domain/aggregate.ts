/**
 * Aggregates of points, from stored rollups or from points scanned, combined here.
 * Combining is associative and commutative and sums are exact (exact-sum.ts), so
 * any grouping of the same points gives the same answer to the last bit.
 */
import { ExactAccumulator, ExactSum } from './exact-sum.js';

export const AGGREGATIONS = ['sum', 'avg', 'min', 'max', 'count', 'first', 'last'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

/** A point as first and last report it. */
export interface TimedValue {
  readonly ts: number;
  readonly value: number;
}

/** What one partition (or any set of points) contributes to a search. */
export interface PartialAggregate {
  readonly count: number;
  readonly sum: ExactSum;
  readonly min: number;
  readonly max: number;
  /**
   * The earliest and latest points (always there when count > 0).
   */
  readonly first?: TimedValue;
  readonly last?: TimedValue;
}

export const EMPTY_AGGREGATE: PartialAggregate = { count: 0, sum: ExactSum.ZERO, min: Infinity, max: -Infinity };

export function combine(a: PartialAggregate, b: PartialAggregate): PartialAggregate {
  if (a.count === 0) return b;
  if (b.count === 0) return a;
  const combined = {
    count: a.count + b.count,
    sum: a.sum.plus(b.sum),
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
  };
  if (a.first === undefined || b.first === undefined || a.last === undefined || b.last === undefined) return combined;
  return {
    ...combined,
    first: a.first.ts <= b.first.ts ? a.first : b.first,
    last: a.last.ts >= b.last.ts ? a.last : b.last,
  };
}

/**
 * Folds points into a partial one at a time, cheaply: for scans of many points.
 * Points may come in any order.
 */
export class PointFold {
  private count = 0;
  private readonly sum = new ExactAccumulator();
  private min = Infinity;
  private max = -Infinity;
  private firstTs = Infinity;
  private firstValue = 0;
  private lastTs = -Infinity;
  private lastValue = 0;

  add(ts: number, value: number): void {
    this.sum.add(value);
    this.count++;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (ts < this.firstTs) [this.firstTs, this.firstValue] = [ts, value];
    if (ts > this.lastTs) [this.lastTs, this.lastValue] = [ts, value];
  }

  get partial(): PartialAggregate {
    if (this.count === 0) return EMPTY_AGGREGATE;
    const { count, min, max } = this;
    return {
      count,
      sum: this.sum.sum,
      min,
      max,
      first: { ts: this.firstTs, value: this.firstValue },
      last: { ts: this.lastTs, value: this.lastValue },
    };
  }
}

/** The answer for an aggregation: null when there are no points (whatever the aggregation). */
export function finalize(aggregate: PartialAggregate, aggregation: Aggregation): number | null {
  if (aggregate.count === 0) return null;
  const sum = aggregate.sum.value;
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
    case 'first':
    case 'last': {
      const point = aggregate[aggregation];
      if (point === undefined) throw new Error(`${aggregation} asked of a partial made without timestamps`);
      return point.value;
    }
  }
}
