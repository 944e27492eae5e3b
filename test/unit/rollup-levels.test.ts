/** How a range is covered by rollup buckets: checked bucket by bucket against what the cover claims. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { coverRange, DAY, HOUR, LEVELS, QUARTER, type Cover, type Level } from '../../src/rollup/levels.js';

const M = 60_000;
const base = Date.parse('2024-03-09T00:00:00Z');

/** The buckets a cover's runs stand for, one by one. */
function cellsOf(cover: Cover): Array<{ level: Level; start: number }> {
  return cover.spans.flatMap(({ level, fromMs, toMs }) =>
    Array.from({ length: (toMs - fromMs) / level.ms }, (_, i) => ({ level, start: fromMs + i * level.ms })),
  );
}

describe('covering a range with rollups', () => {
  it('takes whole clean days, hours and quarters, and points for partial quarters', () => {
    const from = base + 23 * 3_600_000 + 14 * M + 30_000; // 23:14:30 on day 0
    const to = base + 2 * 86_400_000 + 76 * M; // 01:16 on day 2
    const cover = coverRange(from, to, []);
    const [cells, raw] = [cellsOf(cover), cover.raw];
    expect(raw).toEqual([
      { fromMs: from, toMs: from + 30_000 },
      { fromMs: to - M, toMs: to },
    ]);
    const count = (level: typeof DAY): number => cells.filter((cell) => cell.level === level).length;
    expect([count(DAY), count(HOUR), count(QUARTER)]).toEqual([1, 1, 4]); // day 1; 00:00 on day 2; 23:15, 23:30, 23:45, 01:00
  });

  it('reads the quarter of a dirty minute as points and keeps the coarsest clean buckets around it', () => {
    const dirty = [(base + 5 * 3_600_000 + 7 * M) / M];
    const cover = coverRange(base, base + 86_400_000, dirty);
    const [cells, raw] = [cellsOf(cover), cover.raw];
    expect(raw).toEqual([{ fromMs: base + 5 * 3_600_000, toMs: base + 5 * 3_600_000 + 15 * M }]);
    expect(cells.filter((cell) => cell.level === DAY)).toEqual([]);
    expect(cells.filter((cell) => cell.level === HOUR)).toHaveLength(23);
    expect(cells.filter((cell) => cell.level === QUARTER)).toHaveLength(3);
  });

  it('covers ten thousand years with a handful of runs, not a row per day', () => {
    const from = Date.parse('0001-01-01T00:00:00Z');
    const to = Date.parse('9999-12-31T23:59:59.999Z') + 1;
    const dirty = [base / M, base / M + 1, base / M + 5_000];
    const { spans, raw } = coverRange(from, to, dirty);
    expect(spans.length).toBeLessThan(40);
    // 5,000 minutes in is 83:20, in the quarter from 83:15.
    expect(raw).toEqual([
      { fromMs: base, toMs: base + 15 * M },
      { fromMs: base + 4_995 * M, toMs: base + 5_010 * M },
    ]);
    expect(spans.reduce((ms, span) => ms + span.toMs - span.fromMs, 0) + 30 * M).toBe(to - from);
  });

  it('covers every millisecond once, with no dirty minute in a bucket, and no bucket that could be coarser', () => {
    const span = 3 * 86_400_000;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: span }),
        fc.integer({ min: 0, max: span }),
        fc.array(fc.integer({ min: 0, max: span / M }), { maxLength: 30 }),
        (a, b, dirtyOffsets) => {
          const [from, to] = [base + Math.min(a, b), base + Math.max(a, b)];
          const dirty = [...new Set(dirtyOffsets.map((m) => base / M + m))].sort((x, y) => x - y);
          const cover = coverRange(from, to, dirty);
          const [cells, raw] = [cellsOf(cover), cover.raw];
          const pieces = [
            ...cells.map((cell) => ({ from: cell.start, to: cell.start + cell.level.ms })),
            ...raw.map((span) => ({ from: span.fromMs, to: span.toMs })),
          ].sort((x, y) => x.from - y.from);
          let at = from;
          for (const piece of pieces) {
            expect(piece.from).toBe(at);
            at = piece.to;
          }
          expect(at).toBe(pieces.length === 0 ? from : to);
          for (const { level, start } of cells) {
            expect(start % level.ms).toBe(0);
            expect(dirty.some((m) => m * M >= start && m * M < start + level.ms)).toBe(false);
            const parent = LEVELS[LEVELS.indexOf(level) + 1];
            if (parent !== undefined) {
              const parentStart = Math.floor(start / parent.ms) * parent.ms;
              const parentFits = parentStart >= from && parentStart + parent.ms <= to;
              expect(parentFits && !dirty.some((m) => m * M >= parentStart && m * M < parentStart + parent.ms)).toBe(
                false,
              );
            }
          }
          // A whole quarter read as points holds a dirty minute.
          const Q = QUARTER.ms;
          for (const span of raw) {
            for (let quarter = Math.floor(span.fromMs / Q) * Q; quarter < span.toMs; quarter += Q) {
              const whole = quarter >= from && quarter + Q <= to;
              if (whole) expect(dirty.some((m) => m * M >= quarter && m * M < quarter + Q)).toBe(true);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
