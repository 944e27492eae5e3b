import { describe, expect, it } from 'vitest';
import { EMPTY_AGGREGATE, finalize, partialOf } from '../../src/domain/aggregate.js';
import { createSearchService } from '../../src/query/search-service.js';
import type { RangeReader } from '../../src/storage/ports.js';

const DAY = 86_400_000;

/** A RangeReader over fixed per-day partials that records what it was asked. */
function recordingReader(partials: Record<number, [number, number, number, number]>) {
  const calls = { index: 0, days: [] as number[] };
  const reader: RangeReader = {
    async daysWithPoints(_metricId, fromDay, toDay) {
      calls.index++;
      return Object.keys(partials).map(Number).filter((d) => d >= fromDay && d <= toDay).sort((a, b) => a - b);
    },
    async aggregateDay(_metricId, day) {
      calls.days.push(day);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5)); // partials come back out of order
      const partial = partials[day];
      return partial === undefined ? EMPTY_AGGREGATE : partialOf(...partial);
    },
  };
  return { reader, calls };
}

describe('the search service', () => {
  it('combines the partials of every day with points, however they arrive', async () => {
    const partials: Record<number, [number, number, number, number]> = {};
    for (let day = 100; day < 200; day += 3) partials[day] = [2, day, day / 2, day / 2];
    const { reader, calls } = recordingReader(partials);
    const total = await createSearchService({ reader, concurrency: 8 }).aggregate('m', 100 * DAY, 200 * DAY - 1);
    expect(calls.index).toBe(1);
    expect([...calls.days].sort((a, b) => a - b)).toEqual(Object.keys(partials).map(Number));
    expect(total.count).toBe(2 * Object.keys(partials).length);
    expect(finalize(total, 'sum')).toBe(Object.keys(partials).map(Number).reduce((s, d) => s + d, 0));
    expect(finalize(total, 'min')).toBe(50);
  });

  it('queries one or two days directly, without the day index', async () => {
    const { reader, calls } = recordingReader({ 10: [1, 5, 5, 5], 11: [1, 7, 7, 7] });
    const service = createSearchService({ reader, concurrency: 4 });
    expect(finalize(await service.aggregate('m', 10 * DAY + 5, 11 * DAY + 5), 'sum')).toBe(12);
    expect(finalize(await service.aggregate('m', 10 * DAY, 10 * DAY + 1000), 'sum')).toBe(5);
    expect(calls.index).toBe(0);
    expect(finalize(await service.aggregate('m', 9 * DAY, 11 * DAY + 5), 'sum')).toBe(12);
    expect(calls.index).toBe(1);
  });
});
