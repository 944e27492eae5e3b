/**
 * Series over the year metric of the search scenario: a year at 1h, a month at
 * 15m, a year of days in America/New_York and Asia/Kolkata (each with its DST or
 * :30 offset), and the year's `first`, through the API against the naive way
 * (every point fetched through the storage adapter and bucketed here).
 */
import type { CassandraPointStore } from '../../src/storage/cassandra/point-store.js';
import { bucketBounds, bucketIndex } from '../../src/time/series-buckets.js';
import { parseInterval } from '../../src/time/time-text.js';
import type { BenchContext } from '../context.js';
import { request } from '../http-client.js';
import { timeEach } from '../latency.js';
import type { BenchSizes } from '../sizes.js';
import { scanRange, SEARCH_RANGES, type YearLoad } from './search.js';

interface SeriesCase {
  readonly name: string;
  readonly range: 'year' | 'month';
  readonly interval: string | undefined;
  readonly tz: string;
  readonly aggregation: 'sum' | 'avg' | 'max' | 'first';
}

const CASES: readonly SeriesCase[] = [
  { name: 'year at 1h', range: 'year', interval: '1h', tz: 'UTC', aggregation: 'sum' },
  { name: 'month at 15m', range: 'month', interval: '15m', tz: 'UTC', aggregation: 'avg' },
  { name: 'year at 1d, America/New_York', range: 'year', interval: '1d', tz: 'America/New_York', aggregation: 'max' },
  { name: 'year at 1d, Asia/Kolkata', range: 'year', interval: '1d', tz: 'Asia/Kolkata', aggregation: 'max' },
  { name: 'year, first', range: 'year', interval: undefined, tz: 'UTC', aggregation: 'first' },
];

export interface SeriesResult {
  readonly name: string;
  readonly buckets: number;
  readonly points: number;
  /** The first request, right after the year metric's summaries were last touched by the search scenario. */
  readonly apiFirstMs: number;
  readonly api: { readonly p50Ms: number; readonly p99Ms: number };
  readonly naive: { readonly p50Ms: number };
  /** Naive p50 over API p50. */
  readonly speedup: number;
}

interface SeriesAnswer {
  readonly value: number | null;
  readonly count: number;
  readonly series?: ReadonlyArray<{ readonly ts: number; readonly count: number }>;
}

async function askSeries(
  url: string,
  metricId: string,
  fromMs: number,
  toMs: number,
  c: SeriesCase,
): Promise<SeriesAnswer> {
  const params = new URLSearchParams({
    metric: metricId,
    from: String(fromMs),
    to: String(toMs),
    aggregation: c.aggregation,
    tz: c.tz,
  });
  if (c.interval !== undefined) params.set('interval', c.interval);
  const answer = await request(`${url}/1.0/metrics?${params.toString()}`);
  if (answer.status !== 200) throw new Error(`series ${c.name} answered ${answer.status}: ${answer.body}`);
  return JSON.parse(answer.body) as SeriesAnswer;
}

/** The naive way: every point of the range fetched, counted into its bucket here. */
async function naiveCounts(
  store: CassandraPointStore,
  metricId: string,
  fromMs: number,
  toMs: number,
  bounds: readonly number[],
): Promise<number[]> {
  const counts = new Array<number>(bounds.length - 1).fill(0);
  await scanRange(store, metricId, fromMs, toMs, (ts) => {
    counts[bucketIndex(bounds, ts)]!++;
  });
  return counts;
}

export async function benchSeries(ctx: BenchContext, sizes: BenchSizes, year: YearLoad): Promise<SeriesResult[]> {
  const { metricId } = year;
  const results: SeriesResult[] = [];
  for (const c of CASES) {
    ctx.progress(`series: ${c.name}, through the API and the naive way`);
    const range = SEARCH_RANGES.find((r) => r.name === c.range)!;
    const interval = parseInterval(c.interval ?? '1M')!;
    const bounds =
      c.interval === undefined
        ? [range.fromMs, range.toMs + 1]
        : await bucketBounds(interval, c.tz, range.fromMs, range.toMs, 100_000);
    const started = performance.now();
    const answer = await askSeries(ctx.apiUrl, metricId, range.fromMs, range.toMs, c);
    const apiFirstMs = performance.now() - started;
    const expected = await naiveCounts(ctx.store, metricId, range.fromMs, range.toMs, bounds);
    const got = answer.series?.map((b) => b.count) ?? [answer.count];
    if (got.length !== expected.length || got.some((count, i) => count !== expected[i])) {
      throw new Error(`series ${c.name}: the API's bucket counts differ from the naive ones`);
    }
    const api = await timeEach(
      sizes.searchRepetitions,
      async () => void (await askSeries(ctx.apiUrl, metricId, range.fromMs, range.toMs, c)),
    );
    const naive = await timeEach(
      sizes.naiveRepetitions,
      async () => void (await naiveCounts(ctx.store, metricId, range.fromMs, range.toMs, bounds)),
    );
    results.push({
      name: c.name,
      buckets: expected.length,
      points: expected.reduce((a, b) => a + b, 0),
      apiFirstMs,
      api: { p50Ms: api.percentile(50), p99Ms: api.percentile(99) },
      naive: { p50Ms: naive.percentile(50) },
      speedup: naive.percentile(50) / api.percentile(50),
    });
  }
  return results;
}
