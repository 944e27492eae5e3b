/** The search service's combining and summary-cache rules, over an in-memory RangeReader (no storage involved). */
import { describe, expect, it } from 'vitest';
import { EMPTY_AGGREGATE, partialOf, type Aggregation, type PartialAggregate } from '../../src/domain/aggregate.js';
import { SUMMARY_CLOCK_MARGIN_MS, type SearchQuery } from '../../src/query/search-service.js';
import { InMemoryPointStore } from '../../src/storage/memory/in-memory-point-store.js';
import type { RangeReader } from '../../src/storage/ports.js';
import { UNBOUNDED, type WorkScope } from '../../src/work-scope.js';
import { searchService } from '../support/services.js';
import { CLOSED_DAY_GRACE_MS, dayEndMs, dayStartMs } from '../../src/time/day-bucket.js';
import { query } from '../support/search-query.js';

const DAY = 86_400_000;

/** A RangeReader over fixed per-day partials and a summary cache, recording what it was asked. */
function recordingReader(partials: Record<number, [number, number, number, number]>, cached: Record<number, PartialAggregate> = {}, held: Record<number, number> = {}) {
  const calls = { index: 0, raw: [] as Array<{ day: number; whole: boolean }>, saved: [] as Array<{ day: number; asOf: number }> };
  let failSaves = false;
  const reader: RangeReader = {
    async forEachDay(_metricId, fromDay, toDay, visit) {
      calls.index++;
      Object.keys(partials)
        .map(Number)
        .filter((d) => d >= fromDay && d <= toDay)
        .sort((a, b) => a - b)
        .forEach((day) => visit({ day, summary: cached[day], heldUntilMs: held[day] }));
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
    const service = searchService(reader, { concurrency: 8, clock });
    const total = await service.search(query('m', 100 * DAY, 200 * DAY - 1, 'sum'), UNBOUNDED);
    expect(calls.index).toBe(1);
    expect(calls.raw.map((c) => c.day).sort((a, b) => a - b)).toEqual(Object.keys(partials).map(Number));
    expect(total.count).toBe(2 * Object.keys(partials).length);
    expect(total.value).toBe(Object.keys(partials).map(Number).reduce((s, d) => s + d, 0));
    expect((await service.search(query('m', 100 * DAY, 200 * DAY - 1, 'min'), UNBOUNDED)).value).toBe(50);
  });

  it('queries one or two days directly, without the day index or summaries', async () => {
    const { reader, calls } = recordingReader({ 10: [1, 5, 5, 5], 11: [1, 7, 7, 7] });
    const service = searchService(reader, { clock });
    expect((await service.search(query('m', 10 * DAY + 5, 11 * DAY + 5, 'sum'), UNBOUNDED)).value).toBe(12);
    expect((await service.search(query('m', 10 * DAY, 10 * DAY + 1000, 'sum'), UNBOUNDED)).value).toBe(5);
    expect(calls.index).toBe(0);
    expect(calls.saved).toEqual([]);
    expect((await service.search(query('m', 9 * DAY, 11 * DAY + 5, 'sum'), UNBOUNDED)).value).toBe(12);
    expect(calls.index).toBe(1);
  });

  it('caches whole closed days, dated before its reads, and uses them next time', async () => {
    const { reader, calls } = recordingReader({ 50: [1, 1, 1, 1], 51: [2, 4, 2, 2], 52: [1, 8, 8, 8], 53: [1, 16, 16, 16] });
    const service = searchService(reader, { clock });
    // Day 50 and 53 are only partly inside the range; 51 and 52 wholly.
    const range = [50 * DAY + 1, 53 * DAY + 5] as const;
    expect((await service.search(query('m', ...range, 'sum'), UNBOUNDED)).value).toBe(29);
    expect(calls.saved.map((s) => s.day).sort()).toEqual([51, 52]);
    for (const saved of calls.saved) expect(saved.asOf).toBe(now - SUMMARY_CLOCK_MARGIN_MS);
    expect(calls.raw.filter((c) => c.whole).map((c) => c.day).sort()).toEqual([51, 52]);

    calls.raw.length = 0;
    expect((await service.search(query('m', ...range, 'sum'), UNBOUNDED)).value).toBe(29);
    expect(calls.raw.map((c) => c.day).sort()).toEqual([50, 53]); // the edges only
  });

  it('never caches a day that is not yet closed', async () => {
    const today = 300;
    const yesterday = 299;
    const { reader, calls } = recordingReader({ [yesterday]: [1, 1, 1, 1], [today]: [1, 2, 2, 2], 298: [1, 4, 4, 4] });
    // At 00:05, yesterday is still within the grace period.
    const earlyClock = (): number => dayStartMs(today) + CLOSED_DAY_GRACE_MS / 2;
    const service = searchService(reader, { clock: earlyClock });
    expect((await service.search(query('m', dayStartMs(298), dayEndMs(today), 'sum'), UNBOUNDED)).value).toBe(7);
    expect(calls.saved.map((s) => s.day)).toEqual([298]);
  });

  it('answers even when a summary cannot be cached, and says so', async () => {
    const { reader, failSavesFromNowOn } = recordingReader({ 20: [1, 1, 1, 1], 21: [1, 2, 2, 2], 22: [1, 3, 3, 3] });
    failSavesFromNowOn();
    const errors: unknown[] = [];
    const service = searchService(reader, { clock, onCacheError: (error) => errors.push(error) });
    expect((await service.search(query('m', 20 * DAY, 23 * DAY - 1, 'sum'), UNBOUNDED)).value).toBe(6);
    expect(errors).toHaveLength(1); // one batch for the three days
  });

  it('neither uses nor caches a summary of a held day until the hold is over', async () => {
    const { reader, calls } = recordingReader({ 60: [1, 1, 1, 1], 61: [1, 2, 2, 2] }, {}, { 60: now + 5_000 });
    const service = searchService(reader, { clock });
    expect((await service.search(query('m', 59 * DAY, 63 * DAY - 1, 'sum'), UNBOUNDED)).value).toBe(3);
    expect(calls.saved.map((s) => s.day)).toEqual([61]);
  });

  it('refuses a search needing more raw days than its limit before reading any', async () => {
    const partials: Record<number, [number, number, number, number]> = {};
    for (let day = 1000; day < 1010; day++) partials[day] = [1, 1, 1, 1];
    const { reader, calls } = recordingReader(partials, { 1000: partialOf(1, 1, 1, 1), 1001: partialOf(1, 1, 1, 1) });
    const service = searchService(reader, { clock, maxPartitions: 7 });
    await expect(service.search(query('m', 0, 2000 * DAY - 1, 'count'), UNBOUNDED)).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/more than 7 days .*MEETR_MAX_SEARCH_PARTITIONS/),
    });
    expect(calls.raw).toEqual([]);
    // Eight raw days are too many; with two summaries, a range of nine days needs seven.
    expect((await service.search(query('m', 1000 * DAY, 1009 * DAY - 1, 'count'), UNBOUNDED)).value).toBe(9);
  });

  it('stops at once when its scope ends, and runs only so many searches at a time, shedding the excess', async () => {
    const partials: Record<number, [number, number, number, number]> = {};
    for (let day = 100; day < 140; day++) partials[day] = [1, 1, 1, 1];
    const { reader, calls } = recordingReader(partials);
    const service = searchService(reader, { clock, concurrency: 1, maxSearches: 1, maxWaitingSearches: 1 });
    const controller = new AbortController();
    const scope: WorkScope = { signal: controller.signal, deadlineMs: now + 1_000 };
    const first = service.search(query('m', 100 * DAY, 140 * DAY - 1, 'sum'), scope);
    const second = service.search(query('m', 100 * DAY, 140 * DAY - 1, 'sum'), UNBOUNDED); // waits for a turn
    await expect(service.search(query('m', 100 * DAY, 140 * DAY - 1, 'sum'), UNBOUNDED)).rejects.toMatchObject({ code: 'overloaded' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort(new Error('deadline'));
    await expect(first).rejects.toThrow('deadline');
    const readByFirst = calls.raw.length;
    expect(readByFirst).toBeLessThan(40);
    expect((await second).value).toBe(40);
  });
});

describe('series and first/last', () => {
  const HOUR = 3_600_000;
  const base = 400 * DAY; // closed days: each search's clock is ten days later
  async function storeWith(points: Array<[number, number]>): Promise<InMemoryPointStore> {
    const store = new InMemoryPointStore();
    const byDay = new Map<number, Array<{ metricId: string; ts: number; value: number; writeTimeUs: number }>>();
    for (const [ts, value] of points) {
      const day = Math.floor(ts / DAY);
      byDay.set(day, [...(byDay.get(day) ?? []), { metricId: 'm', ts, value, writeTimeUs: 1 }]);
    }
    await store.markDays('m', [...byDay.keys()]);
    for (const [day, dayPoints] of byDay) await store.writePartition('m', day, dayPoints);
    return store;
  }
  const series = (fromMs: number, toMs: number, aggregation: Aggregation, buckets: number[]): SearchQuery => ({ ...query('m', fromMs, toMs, aggregation), buckets });

  it('answers every bucket, empty ones with null, each over the points inside the range only', async () => {
    const store = await storeWith([[base + 1, 1], [base + 2, 2], [base + 2 * HOUR, 10], [base + 3 * HOUR + 5, 100]]);
    const service = searchService(store, { clock: () => base + 10 * DAY });
    const buckets = [base, base + HOUR, base + 2 * HOUR, base + 3 * HOUR, base + 4 * HOUR];
    const result = await service.search(series(base + 2, base + 3 * HOUR + 5, 'sum', buckets), UNBOUNDED);
    expect(result).toEqual({
      value: 112,
      count: 3,
      series: [
        { ts: base, value: 2, count: 1 }, // the point at base + 1 is before `from`
        { ts: base + HOUR, value: null, count: 0 },
        { ts: base + 2 * HOUR, value: 10, count: 1 },
        { ts: base + 3 * HOUR, value: 100, count: 1 },
      ],
    });
  });

  it('answers first and last from the points themselves, across days', async () => {
    const store = await storeWith([[base + 5, 7], [base + DAY + 5, 8], [base + 2 * DAY + 5, 9], [base + 3 * DAY + 5, 10]]);
    const service = searchService(store, { clock: () => base + 10 * DAY });
    expect(await service.search(query('m', base + 6, base + 3 * DAY, 'first'), UNBOUNDED)).toEqual({ value: 8, count: 2 });
    expect(await service.search(query('m', base, base + 3 * DAY + 5, 'last'), UNBOUNDED)).toEqual({ value: 10, count: 4 });
    const daily = await service.search(series(base, base + 4 * DAY - 1, 'last', [base, base + 2 * DAY, base + 4 * DAY]), UNBOUNDED);
    expect(daily.series).toEqual([{ ts: base, value: 8, count: 2 }, { ts: base + 2 * DAY, value: 10, count: 2 }]);
    expect(store.calls.aggregateDay).toBe(0); // Cassandra's aggregates do not tell which point came first
  });

  it('aggregates a day meeting a few buckets piece by piece, and scans one meeting many', async () => {
    const points: Array<[number, number]> = Array.from({ length: 48 }, (_, i) => [base + i * HOUR / 2, i]);
    const store = await storeWith(points);
    const service = searchService(store, { clock: () => base + 10 * DAY });
    const sixHours = [0, 1, 2, 3, 4].map((i) => base + i * 6 * HOUR);
    const coarse = await service.search(series(base, base + DAY - 1, 'sum', sixHours), UNBOUNDED);
    expect(coarse.series?.map((b) => b.value)).toEqual([0, 1, 2, 3].map((q) => Array.from({ length: 12 }, (_, i) => q * 12 + i).reduce((a, b) => a + b, 0)));
    expect([store.calls.aggregateDay, store.calls.scanPoints]).toEqual([4, 0]);
    const hourly = Array.from({ length: 25 }, (_, i) => base + i * HOUR);
    const fine = await service.search(series(base, base + DAY - 1, 'max', hourly), UNBOUNDED);
    expect(fine.series?.map((b) => b.value)).toEqual(Array.from({ length: 24 }, (_, i) => 2 * i + 1));
    expect([store.calls.aggregateDay, store.calls.scanPoints]).toEqual([4, 1]);
  });
});
