/**
 * Aggregates are computed per day partition inside Cassandra and combined here.
 * Combining is associative and commutative, so partitions may arrive in any order.
 */

export const AGGREGATIONS = ['sum', 'avg', 'min', 'max', 'count', 'first', 'last'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

/** Aggregations that need the points' timestamps, not only count/sum/min/max. */
export function needsTimestamps(aggregation: Aggregation): boolean {
  return aggregation === 'first' || aggregation === 'last';
}

/** A point as first and last report it. */
export interface TimedValue {
  readonly ts: number;
  readonly value: number;
}

/** What one partition (or any set of points) contributes to a search. */
export interface PartialAggregate {
  readonly count: number;
  /** Running sum kept as a Neumaier pair, so many partials add up without drift. */
  readonly sum: number;
  readonly compensation: number;
  readonly min: number;
  readonly max: number;
  /**
   * The earliest and latest points, when whoever made this partial saw the points
   * themselves (Cassandra's own count/sum/min/max do not tell them). A combination
   * has them only if every part had.
   */
  readonly first?: TimedValue;
  readonly last?: TimedValue;
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
  const combined = {
    count: a.count + b.count,
    sum: total,
    compensation: a.compensation + b.compensation + lost,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
  };
  if (a.first === undefined || b.first === undefined || a.last === undefined || b.last === undefined) return combined;
  return { ...combined, first: a.first.ts <= b.first.ts ? a.first : b.first, last: a.last.ts >= b.last.ts ? a.last : b.last };
}

/**
 * Folds points into a partial one at a time, cheaply: for scans of many points.
 * Points may come in any order.
 */
export class PointFold {
  private count = 0;
  private sum = 0;
  private compensation = 0;
  private min = Infinity;
  private max = -Infinity;
  private firstTs = Infinity;
  private firstValue = 0;
  private lastTs = -Infinity;
  private lastValue = 0;

  add(ts: number, value: number): void {
    const total = this.sum + value;
    this.compensation += Math.abs(this.sum) >= Math.abs(value) ? this.sum - total + value : value - total + this.sum;
    this.sum = total;
    this.count++;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (ts < this.firstTs) [this.firstTs, this.firstValue] = [ts, value];
    if (ts > this.lastTs) [this.lastTs, this.lastValue] = [ts, value];
  }

  get partial(): PartialAggregate {
    if (this.count === 0) return EMPTY_AGGREGATE;
    const { count, sum, compensation, min, max } = this;
    return { count, sum, compensation, min, max, first: { ts: this.firstTs, value: this.firstValue }, last: { ts: this.lastTs, value: this.lastValue } };
  }
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
    case 'first':
    case 'last': {
      const point = aggregate[aggregation];
      if (point === undefined) throw new Error(`${aggregation} asked of a partial made without timestamps`);
      return point.value;
    }
  }
}
