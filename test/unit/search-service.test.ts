/** The search service's combining and summary-cache rules, over an in-memory RangeReader (no storage involved). */
import { describe, expect, it } from 'vitest';
import { EMPTY_AGGREGATE, partialOf, type PartialAggregate } from '../../src/domain/aggregate.js';
import { createSearchService, SUMMARY_CLOCK_MARGIN_MS } from '../../src/query/search-service.js';
import type { RangeReader } from '../../src/storage/ports.js';
import { CLOSED_DAY_GRACE_MS, dayEndMs, dayStartMs } from '../../src/time/day-bucket.js';
import { query } from '../support/search-query.js';

const DAY = 86_400_000;

/** A RangeReader over fixed per-day partials and a summary cache, recording what it was asked. */
function recordingReader(partials: Record<number, [number, number, number, number]>, cached: Record<number, PartialAggregate> = {}) {
  const calls = { index: 0, raw: [] as Array<{ day: number; whole: boolean }>, saved: [] as Array<{ day: number; asOf: number }> };
  let failSaves = false;
  const reader: RangeReader = {
    async daysWithPoints(_metricId, fromDay, toDay) {
      calls.index++;
      return Object.keys(partials)
        .map(Number)
        .filter((d) => d >= fromDay && d <= toDay)
        .sort((a, b) => a - b)
        .map((day) => ({ day, summary: cached[day] }));
    },
    async aggregateDay(_metricId, day, fromMs, toMs) {
      calls.raw.push({ day, whole: fromMs <= dayStartMs(day) && toMs >= dayEndMs(day) });
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5)); // partials come back out of order
      const partial = partials[day];
      return partial === undefined ? EMPTY_AGGREGATE : partialOf(...partial);
    },
    async scanPoints() {
      throw new Error('a search never scans points');
    },
    async saveDaySummaries(_metricId, summaries, asOfMs) {
      if (failSaves) throw new Error('Cassandra is unavailable');
      for (const { day, summary } of summaries) {
        calls.saved.push({ day, asOf: asOfMs });
        cached[day] = summary;
      }
    },
  };
  return { reader, calls, failSavesFromNowOn: () => (failSaves = true) };
}

const now = 300 * DAY + 12 * 3_600_000; // noon of day 300
const clock = (): number => now;

describe('the search service', () => {
  it('combines the partials of every day with points, however they arrive', async () => {
    const partials: Record<number, [number, number, number, number]> = {};
    for (let day = 100; day < 200; day += 3) partials[day] = [2, day, day / 2, day / 2];
    const { reader, calls } = recordingReader(partials);
    const service = createSearchService({ reader, concurrency: 8, clock });
    const total = await service.search(query('m', 100 * DAY, 200 * DAY - 1, 'sum'));
    expect(calls.index).toBe(1);
    expect(calls.raw.map((c) => c.day).sort((a, b) => a - b)).toEqual(Object.keys(partials).map(Number));
    expect(total.count).toBe(2 * Object.keys(partials).length);
    expect(total.value).toBe(Object.keys(partials).map(Number).reduce((s, d) => s + d, 0));
    expect((await service.search(query('m', 100 * DAY, 200 * DAY - 1, 'min'))).value).toBe(50);
  });

  it('queries one or two days directly, without the day index or summaries', async () => {
    const { reader, calls } = recordingReader({ 10: [1, 5, 5, 5], 11: [1, 7, 7, 7] });
    const service = createSearchService({ reader, concurrency: 4, clock });
    expect((await service.search(query('m', 10 * DAY + 5, 11 * DAY + 5, 'sum'))).value).toBe(12);
    expect((await service.search(query('m', 10 * DAY, 10 * DAY + 1000, 'sum'))).value).toBe(5);
    expect(calls.index).toBe(0);
    expect(calls.saved).toEqual([]);
    expect((await service.search(query('m', 9 * DAY, 11 * DAY + 5, 'sum'))).value).toBe(12);
    expect(calls.index).toBe(1);
  });

  it('caches whole closed days, dated before its reads, and uses them next time', async () => {
    const { reader, calls } = recordingReader({ 50: [1, 1, 1, 1], 51: [2, 4, 2, 2], 52: [1, 8, 8, 8], 53: [1, 16, 16, 16] });
    const service = createSearchService({ reader, concurrency: 4, clock });
    // Day 50 and 53 are only partly inside the range; 51 and 52 wholly.
    const range = [50 * DAY + 1, 53 * DAY + 5] as const;
    expect((await service.search(query('m', ...range, 'sum'))).value).toBe(29);
    expect(calls.saved.map((s) => s.day).sort()).toEqual([51, 52]);
    for (const saved of calls.saved) expect(saved.asOf).toBe(now - SUMMARY_CLOCK_MARGIN_MS);
    expect(calls.raw.filter((c) => c.whole).map((c) => c.day).sort()).toEqual([51, 52]);

    calls.raw.length = 0;
    expect((await service.search(query('m', ...range, 'sum'))).value).toBe(29);
    expect(calls.raw.map((c) => c.day).sort()).toEqual([50, 53]); // the edges only
  });

  it('never caches a day that is not yet closed', async () => {
    const today = 300;
    const yesterday = 299;
    const { reader, calls } = recordingReader({ [yesterday]: [1, 1, 1, 1], [today]: [1, 2, 2, 2], 298: [1, 4, 4, 4] });
    // At 00:05, yesterday is still within the grace period.
    const earlyClock = (): number => dayStartMs(today) + CLOSED_DAY_GRACE_MS / 2;
    const service = createSearchService({ reader, concurrency: 4, clock: earlyClock });
    expect((await service.search(query('m', dayStartMs(298), dayEndMs(today), 'sum'))).value).toBe(7);
    expect(calls.saved.map((s) => s.day)).toEqual([298]);
  });

  it('answers even when a summary cannot be cached, and says so', async () => {
    const { reader, failSavesFromNowOn } = recordingReader({ 20: [1, 1, 1, 1], 21: [1, 2, 2, 2], 22: [1, 3, 3, 3] });
    failSavesFromNowOn();
    const errors: unknown[] = [];
    const service = createSearchService({ reader, concurrency: 4, clock, onCacheError: (error) => errors.push(error) });
    expect((await service.search(query('m', 20 * DAY, 23 * DAY - 1, 'sum'))).value).toBe(6);
    expect(errors).toHaveLength(1); // one batch for the three days
  });
});
