/**
 * A dense metric: 1,000 points a second (one per millisecond) for `denseMinutes`,
 * written through the API. Raw partitions are per hour, so one holds at most
 * 3.6 million points whatever the rate; once rolled up, the range at `1m` and as
 * one number through the API, against the naive way (every point fetched through
 * the storage adapter and added up here).
 */
import type { BenchContext } from '../context.js';
import { formBatchBodies } from '../dataset.js';
import { postAll } from '../failures.js';
import { request } from '../http-client.js';
import { timeEach } from '../latency.js';
import type { BenchSizes } from '../sizes.js';
import { naiveSum, rolledUp } from './search.js';

export interface DenseResult {
  readonly points: number;
  readonly minutes: number;
  /** Through the API, points per second. */
  readonly loadPointsPerSecond: number;
  /** From the end of loading until the roller had rolled all of it. */
  readonly rolledAfterMs: number;
  readonly sum: { readonly p50Ms: number; readonly p99Ms: number };
  readonly minuteSeries: { readonly p50Ms: number; readonly p99Ms: number; readonly buckets: number };
  readonly naive: { readonly p50Ms: number };
  /** Naive p50 over the API's one-number p50. */
  readonly speedup: number;
}

export async function benchDense(ctx: BenchContext, sizes: BenchSizes): Promise<DenseResult> {
  const metricId = `bench.dense.${ctx.seed}.${Date.now()}`;
  const start = Date.parse('2025-06-01T00:00:00Z');
  const count = sizes.denseMinutes * 60_000;
  const points = Array.from({ length: count }, (_, i) => ({ metricId, ts: start + i, value: (i % 1000) / 8 }));
  const bodies = formBatchBodies(points, 10_000);
  const { failures, seconds } = await postAll(
    ctx.apiUrl,
    bodies,
    4,
    (done) => ctx.progress(`dense: loading ${count} points at 1,000 a second, batch ${done}/${bodies.length}`),
    true,
  );
  if (failures.count > 0)
    throw new Error(`loading the dense metric failed for ${failures.count} batches: ${failures.samples.join('; ')}`);
  const loaded = performance.now();
  ctx.progress('dense: waiting for the roller to catch up');
  await rolledUp(ctx.store);
  const rolledAfterMs = performance.now() - loaded;
  const [fromMs, toMs] = [start, start + count - 1];
  const ask = async (
    extra: Record<string, string>,
  ): Promise<{ count: number; value: number | null; series?: unknown[] }> => {
    const params = new URLSearchParams({
      metric: metricId,
      from: String(fromMs),
      to: String(toMs),
      aggregation: 'sum',
      ...extra,
    });
    const answer = await request(`${ctx.apiUrl}/1.0/metrics?${params.toString()}`);
    if (answer.status !== 200) throw new Error(`dense search answered ${answer.status}: ${answer.body}`);
    return JSON.parse(answer.body) as { count: number; value: number | null; series?: unknown[] };
  };
  const reference = await naiveSum(ctx.store, metricId, fromMs, toMs);
  const answer = await ask({});
  if (answer.count !== count || reference.count !== count)
    throw new Error(
      `the dense metric holds ${reference.count} points, the API counts ${answer.count}, ${count} were written`,
    );
  ctx.progress('dense: one number, the minutes, and the naive way');
  const sum = await timeEach(sizes.searchRepetitions, async () => void (await ask({})));
  let buckets = 0;
  const minuteSeries = await timeEach(sizes.searchRepetitions, async () => {
    buckets = (await ask({ interval: '1m' })).series?.length ?? 0;
  });
  const naive = await timeEach(
    sizes.naiveRepetitions,
    async () => void (await naiveSum(ctx.store, metricId, fromMs, toMs)),
  );
  return {
    points: count,
    minutes: sizes.denseMinutes,
    loadPointsPerSecond: count / seconds,
    rolledAfterMs,
    sum: { p50Ms: sum.percentile(50), p99Ms: sum.percentile(99) },
    minuteSeries: { p50Ms: minuteSeries.percentile(50), p99Ms: minuteSeries.percentile(99), buckets },
    naive: { p50Ms: naive.percentile(50) },
    speedup: naive.percentile(50) / sum.percentile(50),
  };
}
