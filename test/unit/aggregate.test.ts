import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { combine, EMPTY_AGGREGATE, finalize, partialOf, type PartialAggregate } from '../../src/domain/aggregate.js';

const partialOfValues = (values: number[]): PartialAggregate =>
  values.length === 0 ? EMPTY_AGGREGATE : partialOf(values.length, values.reduce((a, b) => a + b, 0), Math.min(...values), Math.max(...values));

describe('aggregates', () => {
  it('averages over all points, not over partitions', () => {
    const total = combine(partialOfValues([1, 1, 1]), partialOfValues([10]));
    expect(finalize(total, 'avg')).toBe(13 / 4);
    expect(finalize(total, 'sum')).toBe(13);
    expect(finalize(total, 'count')).toBe(4);
    expect(finalize(total, 'min')).toBe(1);
    expect(finalize(total, 'max')).toBe(10);
  });

  it('answers null for every aggregation of no points', () => {
    for (const aggregation of ['sum', 'avg', 'min', 'max', 'count'] as const) {
      expect(finalize(combine(EMPTY_AGGREGATE, EMPTY_AGGREGATE), aggregation)).toBeNull();
    }
  });

  it('keeps precision when many partials are combined', () => {
    let total = EMPTY_AGGREGATE;
    total = combine(total, partialOf(1, 1e16, 1e16, 1e16));
    for (let i = 0; i < 10; i++) total = combine(total, partialOf(1, 1, 1, 1));
    total = combine(total, partialOf(1, -1e16, -1e16, -1e16));
    expect(finalize(total, 'sum')).toBe(10);
  });

  it('combines in any order and grouping to the reference over all points', () => {
    const value = fc.double({ min: -1e6, max: 1e6, noNaN: true });
    fc.assert(
      fc.property(fc.array(fc.array(value, { maxLength: 20 }), { maxLength: 12 }), (groups) => {
        const all = groups.flat();
        const forward = groups.map(partialOfValues).reduce(combine, EMPTY_AGGREGATE);
        const backward = groups.map(partialOfValues).reverse().reduce(combine, EMPTY_AGGREGATE);
        const reference = partialOfValues(all);
        for (const total of [forward, backward]) {
          expect(total.count).toBe(all.length);
          if (all.length === 0) continue;
          expect(finalize(total, 'min')).toBe(reference.min);
          expect(finalize(total, 'max')).toBe(reference.max);
          expect(finalize(total, 'sum')).toBeCloseTo(reference.sum, 3);
          expect(finalize(total, 'avg')).toBeCloseTo(reference.sum / all.length, 6);
        }
      }),
    );
  });
});
