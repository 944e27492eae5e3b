/**
 * Whatever fails or dies at any step of an insert, a whole-day search never answers
 * from a summary that hides a point stored in that day. Each case injects a failure
 * or a death at one step of a late write to a closed day that already has a cached
 * summary, searches meanwhile (which may try to cache what it read), and then
 * compares whole-day searches with a raw count of the day's points.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Point } from '../../src/domain/point.js';
import { SUMMARY_CLOCK_MARGIN_MS } from '../../src/query/search-service.js';
import { CassandraPointStore } from '../../src/storage/cassandra/point-store.js';
import type { PointWriter } from '../../src/storage/ports.js';
import { dayBucket, dayEndMs, dayStartMs } from '../../src/time/day-bucket.js';
import { useFreshKeyspace } from '../support/keyspace.js';
import { query } from '../support/search-query.js';
import { ingestService, insertRequest, searchService } from '../support/services.js';
import { UNBOUNDED } from '../../src/work-scope.js';

const ks = useFreshKeyspace();
const TIMEOUT_MS = 1_000;
const LANDING_MS = 500 + SUMMARY_CLOCK_MARGIN_MS;

type Step = 'markDays' | 'holdDaySummaries' | 'writePartition';
/** fail: Cassandra refuses it. landed-then-fail: it is applied but the driver reports a timeout. die: applied, then the worker is gone (nothing after it runs). */
type Fault = 'fail' | 'landed-then-fail' | 'die';

/** `store`, except that `step` meets `fault` the first time it is called. */
function faulty(store: CassandraPointStore, step: Step, fault: Fault): PointWriter {
  let struck = false;
  const strike = async <T>(name: Step, call: () => Promise<T>): Promise<T> => {
    if (name !== step || struck) return call();
    struck = true;
    if (fault === 'fail') throw new Error(`${name} refused`);
    await call();
    if (fault === 'landed-then-fail') throw new Error(`${name} timed out (but was applied)`);
    return new Promise<T>(() => undefined); // the worker died: no answer, nothing more
  };
  return {
    markDays: (metricId, days) => strike('markDays', () => store.markDays(metricId, days)),
    holdDaySummaries: (metricId, days, untilMs) => strike('holdDaySummaries', () => store.holdDaySummaries(metricId, days, untilMs)),
    writePartition: (metricId, day, points) => strike('writePartition', () => store.writePartition(metricId, day, points)),
  };
}

describe('cached day summaries under failure', () => {
  const cases: Array<[Step, Fault]> = [];
  for (const step of ['markDays', 'holdDaySummaries', 'writePartition'] as const) for (const fault of ['fail', 'landed-then-fail', 'die'] as const) cases.push([step, fault]);

  it.concurrent.each(cases)('a late write whose %s meets "%s" never leaves a summary that hides a stored point', async (step, fault) => {
    const store = new CassandraPointStore(ks.client, ks.keyspace);
    const metricId = `inject.${step}.${fault}`;
    const day = dayBucket(Date.UTC(2021, 0, 10));
    // Three whole days, so the search goes by the day index and its summaries (one or two days are read directly).
    const whole = query(metricId, dayStartMs(day - 1), dayEndMs(day + 1), 'count');
    const search = searchService(store);
    const rawCount = (): Promise<number> => store.scanPoints(metricId, day, dayStartMs(day), dayEndMs(day), () => undefined);

    // The day has points and a cached summary.
    const seed: Point[] = [1, 2, 3].map((i) => ({ metricId, ts: dayStartMs(day) + i * 1000, value: i }));
    await store.markDays(metricId, [day]);
    await store.writePartition(metricId, day, seed.map((p) => ({ ...p, writeTimeUs: Date.now() * 1000 })));
    await sleep(SUMMARY_CLOCK_MARGIN_MS + 50);
    expect((await search.search(whole, UNBOUNDED)).count).toBe(3);

    // The late write meets its fault; searches run beside it and try to cache what they read.
    // The service knows no days yet, so it runs every step.
    const ingest = ingestService(faulty(store, step, fault), { landingMarginMs: LANDING_MS });
    const controller = new AbortController();
    const deadline = setTimeout(() => controller.abort(new Error('deadline')), TIMEOUT_MS);
    const writing = ingest.ingest([{ metricId, ts: dayStartMs(day) + 5000, value: 5 }], insertRequest({ timeoutMs: TIMEOUT_MS, signal: controller.signal })).then(
      () => 'acknowledged',
      () => 'failed',
    );
    const beside: Array<Promise<unknown>> = [];
    for (let i = 0; i < 6; i++) {
      beside.push(search.search(whole, UNBOUNDED));
      await sleep(100);
    }
    const outcome = await writing;
    clearTimeout(deadline);
    await Promise.all(beside);
    if (outcome === 'acknowledged') expect(await rawCount()).toBe(4);

    // Whenever a search asks, now or once every hold is over, the whole day agrees with its points.
    expect((await search.search(whole, UNBOUNDED)).count).toBe(await rawCount());
    await sleep(TIMEOUT_MS + LANDING_MS + SUMMARY_CLOCK_MARGIN_MS + 100);
    for (let i = 0; i < 2; i++) expect((await search.search(whole, UNBOUNDED)).count).toBe(await rawCount()); // the first may cache, the second uses it
  });
});
