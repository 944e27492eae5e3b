/**
 * Cached whole-day summaries on real Cassandra: searches fill and use them,
 * late writes hide them, and a summary computed from a read that missed a write
 * never answers a search after that write was acknowledged.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { composeApp } from '../../src/compose.js';
import { SUMMARY_CLOCK_MARGIN_MS } from '../../src/query/search-service.js';
import { cassandraStorage, CassandraPointStore } from '../../src/storage/cassandra/point-store.js';
import { dayBucket, dayEndMs, dayStartMs } from '../../src/time/day-bucket.js';
import { useFreshKeyspace } from '../support/keyspace.js';
import { dayEntries, ingestService, insertRequest, searchService } from '../support/services.js';
import { UNBOUNDED } from '../../src/work-scope.js';
import { query } from '../support/search-query.js';

// Short deadlines, so a write's hold on its days' summaries (deadline + storage timeout + clock margin) ends soon.
const ks = useFreshKeyspace({ MEETR_REQUEST_TIMEOUT_MS: '1000', MEETR_STORAGE_TIMEOUT_MS: '500' });
/** Until a search may cache a summary of a day just written: the hold, and the search's own dating margin. */
const HOLD_MS = 1_000 + 500 + SUMMARY_CLOCK_MARGIN_MS + SUMMARY_CLOCK_MARGIN_MS;
let store: CassandraPointStore;
beforeAll(() => {
  store = new CassandraPointStore(ks.client, ks.keyspace);
});
const at = (iso: string): number => Date.parse(iso);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function summarizedDays(metricId: string, fromDay: number, toDay: number): Promise<number[]> {
  return (await dayEntries(store, metricId, fromDay, toDay)).filter((e) => e.summary !== undefined).map((e) => e.day);
}

describe('day summaries', () => {
  it('are filled by a search over whole closed days and give the same answers as the points', async () => {
    const app = composeApp({ config: ks.config, storage: cassandraStorage(ks.client, ks.keyspace), workerId: 's' });
    // One point every hour through January 2024, value = hour of day.
    const points = Array.from({ length: 31 * 24 }, (_, i) => ({ metric_id: 'hourly', ts: at('2024-01-01T00:00:00Z') + i * 3_600_000, value: i % 24 }));
    const posted = await app.request('/1.0/metrics', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(points) });
    expect(posted.status).toBe(200);
    await sleep(HOLD_MS + 50); // the write holds its days' summaries until it surely landed
    const [first, last] = [dayBucket(at('2024-01-01T00:00:00Z')), dayBucket(at('2024-01-31T00:00:00Z'))];
    expect(await summarizedDays('hourly', first, last)).toEqual([]);

    const search = async (): Promise<unknown> =>
      (await app.request('/1.0/metrics?metric=hourly&from=2024-01-01T12:00:00Z&to=2024-01-31T11:59:59.999Z&aggregation=sum')).json();
    // From noon on the 1st to just before noon on the 31st: 29 whole days and two half days.
    const expected = { value: 29 * 276 + (12 + 13 + 14 + 15 + 16 + 17 + 18 + 19 + 20 + 21 + 22 + 23) + (0 + 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10 + 11), count: 30 * 24 };
    expect(await search()).toMatchObject(expected);
    expect(await summarizedDays('hourly', first, last)).toEqual(Array.from({ length: 29 }, (_, i) => first + 1 + i));
    expect(await search()).toMatchObject(expected); // now from the summaries
  });

  it('are hidden by a late write to their day, which the next search then includes', async () => {
    const service = ingestService(store, { landingMarginMs: 500 + SUMMARY_CLOCK_MARGIN_MS });
    const search = searchService(store);
    const day = dayBucket(at('2023-05-10T00:00:00Z'));
    await service.ingest([1, 2, 3].map((i) => ({ metricId: 'backfill', ts: dayStartMs(day) + i * 1000, value: i })), insertRequest({ timeoutMs: 1_000 }));
    const range = [dayStartMs(day - 1), dayEndMs(day + 1)] as const;
    await sleep(HOLD_MS + 50); // the write holds its days' summaries until it surely landed
    expect((await search.search(query('backfill', ...range, 'sum'), UNBOUNDED)).value).toBe(6);
    expect(await summarizedDays('backfill', day, day)).toEqual([day]);

    await service.ingest([{ metricId: 'backfill', ts: dayStartMs(day) + 5000, value: 100 }], insertRequest({ timeoutMs: 1_000 }));
    expect(await summarizedDays('backfill', day, day)).toEqual([]);
    expect((await search.search(query('backfill', ...range, 'sum'), UNBOUNDED)).value).toBe(106);
  });

  it('never answer with a summary computed from a read that missed an acknowledged write', async () => {
    const ingest = ingestService(store, { landingMarginMs: 500 + SUMMARY_CLOCK_MARGIN_MS });
    const search = searchService(store);
    const day = dayBucket(at('2022-03-03T00:00:00Z'));
    await ingest.ingest([{ metricId: 'race', ts: dayStartMs(day) + 1, value: 1 }], insertRequest({ timeoutMs: 1_000 }));
    await sleep(HOLD_MS + 50);

    // A search starts: it dates its summaries, then reads the day...
    const asOf = Date.now() - SUMMARY_CLOCK_MARGIN_MS;
    const stale = await store.aggregateDay('race', day, dayStartMs(day), dayEndMs(day));
    expect(stale.count).toBe(1);
    // ...a write to that day is acknowledged meanwhile...
    await ingest.ingest([{ metricId: 'race', ts: dayStartMs(day) + 2, value: 10 }], insertRequest({ timeoutMs: 1_000 }));
    // ...and only then does the search store what it read.
    await store.saveDaySummaries('race', [{ day, summary: stale }], asOf);

    expect(await summarizedDays('race', day, day)).toEqual([]);
    expect((await search.search(query('race', dayStartMs(day - 1), dayEndMs(day + 1), 'sum'), UNBOUNDED)).value).toBe(11);
  });

  it('are never made for a day still open', async () => {
    const ingest = ingestService(store, { landingMarginMs: 500 + SUMMARY_CLOCK_MARGIN_MS });
    const search = searchService(store);
    const today = dayBucket(Date.now());
    await ingest.ingest([{ metricId: 'today', ts: Date.now() - 1000, value: 5 }], insertRequest({ timeoutMs: 1_000 }));
    expect((await search.search(query('today', dayStartMs(today - 3), dayEndMs(today + 1), 'sum'), UNBOUNDED)).value).toBe(5);
    expect(await summarizedDays('today', today, today)).toEqual([]);
  });
});
