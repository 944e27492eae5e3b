/**
 * Searches: sum over a year, a month, a day and an hour of one-minute points,
 * through the API and the naive way (every point fetched through the storage
 * adapter and added up here). The year is loaded afresh each run: the first
 * year search runs right after it is loaded (the roller still at work), the next
 * once the roller caught up, then warm.
 */
import { forEachBounded } from '../../src/concurrency.js';
import type { CassandraPointStore } from '../../src/storage/cassandra/point-store.js';
import { lastPossibleSlot, SHARDS } from '../../src/rollup/roll-queue.js';
import type { BenchContext } from '../context.js';
import { formBatchBodies, generatePoints } from '../dataset.js';
import { postAll } from '../failures.js';
import { request } from '../http-client.js';
import { timeEach } from '../latency.js';
import type { BenchSizes } from '../sizes.js';
import { samplePartition } from '../../src/domain/partitions.js';

const YEAR_START = Date.parse('2025-01-01T00:00:00Z');
const YEAR_END = Date.parse('2026-01-01T00:00:00Z') - 1;
/** The longest hold the stack's workers give a write (compose.ts maxHoldMs at the default settings). */
const STACK_MAX_HOLD_MS = 20_000 + 2 * 2 * 3_000 + 2 * 1_000 + 10_000;
/** roll-queue.ts clockMarginMs at the default MEETR_MAX_CLOCK_SKEW_MS. */
const STACK_CLOCK_MARGIN_MS = 2 * 1_000;

export interface SearchRange {
  readonly name: 'year' | 'month' | 'day' | 'hour';
  readonly fromMs: number;
  readonly toMs: number;
}

export const SEARCH_RANGES: readonly SearchRange[] = [
  { name: 'year', fromMs: YEAR_START, toMs: YEAR_END },
  { name: 'month', fromMs: Date.parse('2025-03-01T00:00:00Z'), toMs: Date.parse('2025-04-01T00:00:00Z') - 1 },
  { name: 'day', fromMs: Date.parse('2025-03-15T00:00:00Z'), toMs: Date.parse('2025-03-16T00:00:00Z') - 1 },
  { name: 'hour', fromMs: Date.parse('2025-03-15T10:00:00Z'), toMs: Date.parse('2025-03-15T11:00:00Z') - 1 },
];

export interface SearchResult {
  readonly range: SearchRange['name'];
  readonly points: number;
  /** The first search of the range once the roller caught up. */
  readonly apiColdMs: number;
  /** Searches after that one. */
  readonly api: { readonly p50Ms: number; readonly p99Ms: number };
  readonly naive: { readonly p50Ms: number; readonly p99Ms: number };
  /** Naive p50 over API p50. */
  readonly speedup: number;
  /** Naive p50 over the cold API search. */
  readonly coldSpeedup: number;
}

export interface YearLoad {
  readonly metricId: string;
  readonly points: number;
  /** The year's sum right after it was loaded, with the roller still at work; undefined when meetr refused it as too large until rolled up (MEETR_MAX_SEARCH_PARTITIONS). */
  readonly justLoadedMs: number | undefined;
  /** From the end of loading until the roller had rolled all of it. */
  readonly rolledAfterMs: number;
}

/** Waits until the roller has rolled every slot a write made before now can have queued in. */
export async function rolledUp(store: CassandraPointStore): Promise<void> {
  const target = lastPossibleSlot(Date.now(), STACK_MAX_HOLD_MS, STACK_CLOCK_MARGIN_MS);
  for (;;) {
    const states = await Promise.all(Array.from({ length: SHARDS }, (_, shard) => store.readShard(shard)));
    if (states.every((state) => state.nextSlot > target)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Loads a fresh metric with one point every `stepMs` through 2025 through the API, and times the year's sum then and once rolled up. */
export async function loadYearMetric(ctx: BenchContext, stepMs: number): Promise<YearLoad> {
  const metricId = `bench.year.${stepMs}.${ctx.seed}.${Date.now()}`;
  const expected = Math.floor((YEAR_END - YEAR_START) / stepMs) + 1;
  const points = generatePoints({
    count: expected,
    metrics: 1,
    prefix: 'x',
    stepMs,
    endMs: YEAR_START + expected * stepMs,
    seed: ctx.seed,
  }).map((p) => ({ ...p, metricId }));
  const bodies = formBatchBodies(points, 10_000);
  const { failures } = await postAll(
    ctx.apiUrl,
    bodies,
    4,
    (done) => ctx.progress(`search: loading ${expected} points of a year, batch ${done}/${bodies.length}`),
    true,
  );
  if (failures.count > 0)
    throw new Error(`loading the year metric failed for ${failures.count} batches: ${failures.samples.join('; ')}`);
  const loaded = performance.now();
  ctx.progress('search: the year right after loading, while the roller works');
  const fresh = await request(searchUrl(ctx.apiUrl, metricId, YEAR_START, YEAR_END, 'sum'));
  // Unrolled, the year is read point by point: a 400 naming MEETR_MAX_SEARCH_PARTITIONS is meetr's documented answer, not a failure.
  const refused = fresh.status === 400 && fresh.body.includes('MEETR_MAX_SEARCH_PARTITIONS');
  if (fresh.status !== 200 && !refused) throw new Error(`search answered ${fresh.status}: ${fresh.body}`);
  const justLoadedMs = refused ? undefined : performance.now() - loaded;
  ctx.progress('search: waiting for the roller to catch up');
  await rolledUp(ctx.store);
  return { metricId, points: expected, justLoadedMs, rolledAfterMs: performance.now() - loaded };
}

function searchUrl(url: string, metricId: string, fromMs: number, toMs: number, aggregation: string): string {
  return `${url}/1.0/metrics?metric=${encodeURIComponent(metricId)}&from=${fromMs}&to=${toMs}&aggregation=${aggregation}`;
}

async function searchOnce(
  url: string,
  metricId: string,
  fromMs: number,
  toMs: number,
  aggregation: string,
): Promise<{ value: number | null; count: number }> {
  const answer = await request(searchUrl(url, metricId, fromMs, toMs, aggregation));
  if (answer.status !== 200) throw new Error(`search answered ${answer.status}: ${answer.body}`);
  return JSON.parse(answer.body) as { value: number | null; count: number };
}

/** Calls `visit` for every point of the range, fetched through the storage adapter per raw partition, as many in flight as meetr uses. */
export async function scanRange(
  store: CassandraPointStore,
  metricId: string,
  fromMs: number,
  toMs: number,
  visit: (ts: number, value: number) => void,
): Promise<number> {
  const partitions = Array.from(
    { length: samplePartition(toMs) - samplePartition(fromMs) + 1 },
    (_, i) => samplePartition(fromMs) + i,
  );
  let count = 0;
  await forEachBounded(partitions, 32, async (partition) => {
    const scanned = await store.scanPoints(metricId, partition, fromMs, toMs + 1, visit);
    count += scanned; // after the await: `count += await ...` would add to a stale count
  });
  return count;
}

/** The old Meetr way: fetch every point in the range and add them up here. */
export async function naiveSum(
  store: CassandraPointStore,
  metricId: string,
  fromMs: number,
  toMs: number,
): Promise<{ sum: number; count: number }> {
  let sum = 0;
  const count = await scanRange(store, metricId, fromMs, toMs, (_, value) => {
    sum += value;
  });
  return { sum, count };
}

export async function benchSearch(ctx: BenchContext, sizes: BenchSizes, year: YearLoad): Promise<SearchResult[]> {
  const { metricId } = year;
  const results: SearchResult[] = [];
  for (const range of SEARCH_RANGES) {
    ctx.progress(`search: sum over a ${range.name}, first, warm and the naive way`);
    const coldStarted = performance.now();
    const answer = await searchOnce(ctx.apiUrl, metricId, range.fromMs, range.toMs, 'sum');
    const apiColdMs = performance.now() - coldStarted;
    const reference = await naiveSum(ctx.store, metricId, range.fromMs, range.toMs);
    if (
      answer.count !== reference.count ||
      Math.abs((answer.value ?? 0) - reference.sum) > 1e-6 * Math.max(1, Math.abs(reference.sum))
    ) {
      throw new Error(
        `the API and the naive sum disagree over a ${range.name}: ${JSON.stringify(answer)} vs ${JSON.stringify(reference)}`,
      );
    }
    const api = await timeEach(
      sizes.searchRepetitions,
      async () => void (await searchOnce(ctx.apiUrl, metricId, range.fromMs, range.toMs, 'sum')),
    );
    const naive = await timeEach(
      sizes.naiveRepetitions,
      async () => void (await naiveSum(ctx.store, metricId, range.fromMs, range.toMs)),
    );
    results.push({
      range: range.name,
      points: reference.count,
      apiColdMs,
      api: { p50Ms: api.percentile(50), p99Ms: api.percentile(99) },
      naive: { p50Ms: naive.percentile(50), p99Ms: naive.percentile(99) },
      speedup: naive.percentile(50) / api.percentile(50),
      coldSpeedup: naive.percentile(50) / apiColdMs,
    });
  }
  return results;
}
