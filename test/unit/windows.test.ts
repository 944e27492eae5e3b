import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { groupOf } from '../../src/domain/groups.js';
import { firstAtOrAfter, lastAtOrBefore, windowIndexes, windowOf } from '../../src/time/windows.js';

const sortedTimes = fc.array(fc.integer({ min: -50, max: 50 }), { maxLength: 40 }).map((a) => a.sort((x, y) => x - y));
const time = fc.integer({ min: -60, max: 60 });

describe('windows over ascending times, against a scan', () => {
  it('finds the first at or after and the last at or before, with repeated times', () => {
    fc.assert(
      fc.property(sortedTimes, time, (sorted, t) => {
        const first = sorted.findIndex((v) => v >= t);
        expect(firstAtOrAfter(sorted, t)).toBe(first === -1 ? sorted.length : first);
        expect(lastAtOrBefore(sorted, t)).toBe(sorted.findLastIndex((v) => v <= t));
      }),
      { numRuns: 2000 },
    );
  });

  it('gives a window the indexes of exactly the times in [from, to]', () => {
    fc.assert(
      fc.property(sortedTimes, time, time, (sorted, a, b) => {
        const [from, to] = a <= b ? [a, b] : [b, a];
        const [first, last] = windowIndexes(sorted, from, to);
        const inside = sorted.flatMap((v, i) => (v >= from && v <= to ? [i] : []));
        expect(last - first + 1).toBe(inside.length);
        if (inside.length > 0) expect([first, last]).toEqual([inside[0], inside[inside.length - 1]]);
      }),
      { numRuns: 2000 },
    );
  });

  it('puts a time in the half-open window [bounds[i], bounds[i + 1]) that holds it, or none', () => {
    const bounds = sortedTimes.map((a) => [...new Set(a)]);
    fc.assert(
      fc.property(bounds, time, (b, t) => {
        const expected = b.findIndex((start, i) => i + 1 < b.length && start <= t && t < b[i + 1]!);
        expect(windowOf(b, t)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('groupOf', () => {
  it('makes a group on first sight and keeps first-seen order', () => {
    const groups = new Map<string, number[]>();
    for (const [key, value] of [
      ['b', 1],
      ['a', 2],
      ['b', 3],
    ] as const)
      groupOf(groups, key, () => []).push(value);
    expect([...groups]).toEqual([
      ['b', [1, 3]],
      ['a', [2]],
    ]);
  });
});
