/** Exact sums: checked against integer arithmetic done with BigInt, an independent reference. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExactAccumulator, ExactSum } from '../../src/domain/exact-sum.js';

function sumOf(values: readonly number[]): number {
  return values.reduce((sum, value) => sum.plus(ExactSum.of(value)), ExactSum.ZERO).value;
}

function accumulated(values: readonly number[]): number {
  const accumulator = new ExactAccumulator();
  for (const value of values) accumulator.add(value);
  return accumulator.sum.value;
}

describe('exact sums', () => {
  it('round once, to nearest, where plain addition drifts', () => {
    expect(sumOf([0.1, 0.2])).toBe(0.30000000000000004);
    expect(sumOf([1e16, 1, -1e16])).toBe(1);
    expect(1e16 + 1 - 1e16).toBe(0); // what plain addition gives
    expect(sumOf([0.1, 0.1, 0.1, -0.3])).toBe(2 ** -55); // 3 * 3602879701896397 * 2^-55 - 10808639105689190 * 2^-55
    expect(sumOf([2 ** 53, 1])).toBe(2 ** 53); // a tie, to even
    expect(sumOf([2 ** 53, 1, 1e-300])).toBe(2 ** 53 + 2); // just past the tie
    expect(sumOf([5e-324, 5e-324, -1e-323])).toBe(0);
    expect(sumOf([Number.MIN_VALUE, 2.5e-308])).toBe(Number.MIN_VALUE + 2.5e-308);
    expect(sumOf([1e308, 1e308])).toBe(Infinity);
    expect(sumOf([-1e308, -1e308, 1e308])).toBe(-1e308);
    expect(sumOf([])).toBe(0);
    expect(sumOf([-0, -0])).toBe(0);
  });

  it('equal the exact sum of integers, rounded once, in any order and grouping', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }), { maxLength: 200 }),
        fc.nat(),
        (integers, seed) => {
          const values = integers.map((n) => Number(n)); // each rounded to a double first
          const exact = values.reduce((sum, value) => sum + BigInt(value), 0n);
          const shuffled = [...values].sort((a, b) => ((a * 7919 + seed) % 13) - ((b * 7919 + seed) % 13));
          expect(sumOf(values)).toBe(Number(exact));
          expect(accumulated(shuffled)).toBe(Number(exact));
          const half = Math.floor(values.length / 2);
          expect(ExactSum.of(sumOf(values.slice(0, half))).value === sumOf(values.slice(0, half))).toBe(true);
          const grouped = [values.slice(0, half), values.slice(half)].map((part) =>
            part.reduce((sum, value) => sum.plus(ExactSum.of(value)), ExactSum.ZERO),
          );
          expect(grouped[0]!.plus(grouped[1]!).value).toBe(Number(exact));
        },
      ),
    );
  });

  it('equal the exact sum of fractions with any power-of-two denominator', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), fc.integer({ min: 0, max: 60 })), {
          maxLength: 100,
        }),
        (parts) => {
          const values = parts.map(([numerator, shift]) => numerator / 2 ** shift); // exact doubles
          const exact = parts.reduce((sum, [numerator, shift]) => sum + (BigInt(numerator) << BigInt(60 - shift)), 0n); // in units of 2^-60
          expect(accumulated(values)).toBe(Number(exact) / 2 ** 60); // Number(exact) rounds once; dividing by 2^60 is exact
          expect(accumulated([...values].reverse())).toBe(Number(exact) / 2 ** 60);
        },
      ),
    );
  });
});
