import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { combine, EMPTY_AGGREGATE, finalize, PointFold, type PartialAggregate } from '../../src/domain/aggregate.js';

/** Values at timestamps 0, 1, 2, ... after `start`. */
const partialOfValues = (values: number[], start = 0): PartialAggregate => {
  const fold = new PointFold();
  values.forEach((value, i) => fold.add(start + i, value));
  return fold.partial;
};

describe('aggregates', () => {
  it('averages over all points, not over partitions', () => {
    const total = combine(partialOfValues([1, 1, 1]), partialOfValues([10], 3));
    expect(finalize(total, 'avg')).toBe(13 / 4);
    expect(finalize(total, 'sum')).toBe(13);
    expect(finalize(total, 'count')).toBe(4);
    expect(finalize(total, 'min')).toBe(1);
    expect(finalize(total, 'max')).toBe(10);
    expect(finalize(total, 'first')).toBe(1);
    expect(finalize(total, 'last')).toBe(10);
  });

  it('answers null for every aggregation of no points', () => {
    for (const aggregation of ['sum', 'avg', 'min', 'max', 'count', 'first', 'last'] as const) {
      expect(finalize(combine(EMPTY_AGGREGATE, EMPTY_AGGREGATE), aggregation)).toBeNull();
    }
  });

  it('sums exactly however many partials are combined', () => {
    let total = partialOfValues([1e16]);
    for (let i = 0; i < 10; i++) total = combine(total, partialOfValues([1], i + 1));
    total = combine(total, partialOfValues([-1e16], 20));
    expect(finalize(total, 'sum')).toBe(10);
  });

  it('combines in any order and grouping to the same answer, to the last bit', () => {
    const value = fc.double({ min: -1e6, max: 1e6, noNaN: true });
    fc.assert(
      fc.property(fc.array(fc.array(value, { maxLength: 20 }), { maxLength: 12 }), (groups) => {
        const all = groups.flat();
        const partials = groups.map((group, i) => partialOfValues(group, groups.slice(0, i).flat().length));
        const forward = partials.reduce(combine, EMPTY_AGGREGATE);
        const backward = [...partials].reverse().reduce(combine, EMPTY_AGGREGATE);
        const reference = partialOfValues(all);
        for (const total of [forward, backward]) {
          expect(total.count).toBe(all.length);
          for (const aggregation of ['sum', 'avg', 'min', 'max', 'count', 'first', 'last'] as const) {
            expect(finalize(total, aggregation)).toBe(finalize(reference, aggregation));
          }
        }
      }),
    );
  });
});
