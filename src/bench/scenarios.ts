/**
 * The benchmark scenarios. Each measures meetr against a baseline in the same run
 * on the same machine, so the ratios mean something on a shared, noisy box.
 */
import { forEachBounded } from '../concurrency.js';
import type { Point } from '../domain/point.js';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { groupByPartition, type WriteUnit } from '../ingest/ingest-service.js';
import { pointInputsFromForm } from '../ingest/point-input.js';
import { validatePoints } from '../ingest/validate-points.js';
import type { CassandraClient } from '../storage/cassandra/client.js';
import { CassandraPointStore } from '../storage/cassandra/point-store.js';
import { SUMMARY_CLOCK_MARGIN_MS } from '../query/search-service.js';
import { dayBucket } from '../time/day-bucket.js';
import { formBatchBodies, formBatchBody, generatePoints } from './dataset.js';
import { postMetrics, request, type HttpAnswer } from './http-client.js';
import { LatencySamples, timeEach } from './latency.js';

export interface BenchContext {
  /** meetr's public URL (HAProxy). */
  readonly apiUrl: string;
  /** Every worker's own URL, for the straight-to-worker figures and memory sampling. */
  readonly workerUrls: readonly string[];
  readonly client: CassandraClient;
  readonly keyspace: string;
  readonly seed: number;
  readonly progress: (line: string) => void;
}

export interface BenchSizes {
  readonly ingestPoints: number;
  readonly ingestMetrics: number;
  /** Alternating rounds of (direct, API); medians are compared. */
  readonly ingestRounds: number;
  readonly apiBatch: number;
  readonly apiClients: number;
  readonly ceilingGrid: ReadonlyArray<{ readonly pointsPerBatch: number; readonly concurrency: number }>;
  readonly singleSeconds: number;
  readonly singleClients: number;
  readonly searchStepMs: number;
  readonly searchRepetitions: number;
  readonly naiveRepetitions: number;
  readonly memoryBatches: number;
  readonly memoryBatchPoints: number;
}

export const QUICK: BenchSizes = {
  ingestPoints: 100_000,
  ingestMetrics: 100,
  ingestRounds: 2,
  apiBatch: 1_000,
  apiClients: 8,
  ceilingGrid: [
    { pointsPerBatch: 50, concurrency: 64 },
    { pointsPerBatch: 100, concurrency: 128 },
  ],
  singleSeconds: 5,
  singleClients: 16,
  searchStepMs: 10 * 60_000,
  searchRepetitions: 15,
  naiveRepetitions: 3,
  memoryBatches: 2,
  memoryBatchPoints: 100_000,
};

export const FULL: BenchSizes = {
  ingestPoints: 500_000,
  ingestMetrics: 200,
  ingestRounds: 3,
  apiBatch: 1_000,
  apiClients: 8,
  ceilingGrid: [
    { pointsPerBatch: 25, concurrency: 64 },
    { pointsPerBatch: 50, concurrency: 128 },
    { pointsPerBatch: 100, concurrency: 128 },
    { pointsPerBatch: 100, concurrency: 256 },
  ],
  singleSeconds: 15,
  singleClients: 16,
  searchStepMs: 60_000,
  searchRepetitions: 30,
  naiveRepetitions: 5,
  memoryBatches: 6,
  memoryBatchPoints: 100_000,
};

const INGEST_STEP_MS = 10_000;
const YEAR_START = Date.parse('2025-01-01T00:00:00Z');
const YEAR_END = Date.parse('2026-01-01T00:00:00Z') - 1;

// ---------------------------------------------------------------- ingest

export interface IngestResult {
  readonly points: number;
  readonly rounds: number;
  readonly ceiling: {
    readonly pointsPerSecond: number;
    readonly rounds: readonly number[];
    readonly pointsPerBatch: number;
    readonly concurrency: number;
    readonly tried: ReadonlyArray<{ pointsPerBatch: number; concurrency: number; pointsPerSecond: number }>;
  };
  readonly api: {
    readonly pointsPerSecond: number;
    readonly rounds: readonly number[];
    readonly batch: number;
    readonly clients: number;
    readonly errors: number;
    readonly errorSamples: readonly string[];
  };
  /** Median API points/s over median ceiling points/s. */
  readonly ratio: number;
}

/** Splits partitions into single-partition writes of at most `size` points each. */
function chunkWrites(partitions: readonly WriteUnit[], size: number): WriteUnit[] {
  const units: WriteUnit[] = [];
  for (const unit of partitions) {
    for (let start = 0; start < unit.points.length; start += size) {
      units.push({ metricId: unit.metricId, day: unit.day, points: unit.points.slice(start, start + size) });
    }
  }
  return units;
}

/** Writes points straight to Cassandra the fastest way known: prepared, per-partition unlogged batches, many in flight. */
export async function writeDirect(store: CassandraPointStore, points: readonly Point[], pointsPerBatch: number, concurrency: number): Promise<number> {
  const started = performance.now();
  const units = chunkWrites(groupByPartition(points), pointsPerBatch);
  await forEachBounded(units, concurrency, (unit) => store.writePartition(unit.metricId, unit.day, unit.points));
  return points.length / ((performance.now() - started) / 1000);
}

/** Failures seen by the bench's own HTTP client: how many, and the first few reasons. */
export class Failures {
  count = 0;
  readonly samples: string[] = [];

  add(reason: string): void {
    this.count++;
    this.keepSample(reason);
  }

  /** Adds another set of failures to this one. */
  absorb(other: Failures): void {
    this.count += other.count;
    for (const reason of other.samples) this.keepSample(reason);
  }

  private keepSample(reason: string): void {
    if (this.samples.length < 5 && !this.samples.includes(reason)) this.samples.push(reason);
  }

  /** Records a non-200 answer or a network error; returns whether the request succeeded. */
  check(answer: HttpAnswer | Error): boolean {
    if (answer instanceof Error) this.add(`network: ${(answer as { code?: string }).code ?? ''} ${answer.message}`.trim());
    else if (answer.status !== 200) this.add(`${answer.status} ${answer.body.slice(0, 120)}`);
    else return true;
    return false;
  }
}

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

/** POSTs pre-built bodies from `clients` concurrent clients; returns the wall time in seconds and the failures. */
async function postAll(url: string, bodies: readonly string[], clients: number, onDone: (done: number) => void): Promise<{ seconds: number; failures: Failures }> {
  let next = 0;
  let done = 0;
  const failures = new Failures();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        failures.check(await postMetrics(url, body).catch(asError));
        onDone(++done);
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, failures };
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/**
 * The same points straight to Cassandra (tuned) and through HAProxy, in alternating
 * rounds after a warm-up of both paths, so flushes, compactions and JIT warm-up
 * fall on both sides alike. Compares medians.
 */
export async function benchIngest(ctx: BenchContext, sizes: BenchSizes): Promise<IngestResult> {
  const { ingestPoints: count, ingestMetrics: metrics, ingestRounds: rounds } = sizes;
  const endMs = Date.now();
  const make = (prefix: string, n = count, seed = ctx.seed): Point[] => generatePoints({ count: n, metrics, prefix, stepMs: INGEST_STEP_MS, endMs, seed });
  const store = new CassandraPointStore(ctx.client, ctx.keyspace);
  const bodiesOf = (points: readonly Point[]): string[] => formBatchBodies(points, sizes.apiBatch);

  ctx.progress('ingest: warming up both paths');
  const warmup = make(`bench.warmup.${ctx.seed}`, Math.min(count, 20_000));
  await writeDirect(store, warmup, 100, 64);
  await postAll(ctx.apiUrl, bodiesOf(warmup), sizes.apiClients, () => undefined);

  const tried: Array<{ pointsPerBatch: number; concurrency: number; pointsPerSecond: number }> = [];
  const sample = Math.max(10_000, Math.floor(count / 5));
  for (const [i, { pointsPerBatch, concurrency }] of sizes.ceilingGrid.entries()) {
    ctx.progress(`ingest: tuning the direct writer ${i + 1}/${sizes.ceilingGrid.length} (${pointsPerBatch} points/batch, ${concurrency} in flight)`);
    tried.push({ pointsPerBatch, concurrency, pointsPerSecond: await writeDirect(store, make(`bench.tune${i}.${ctx.seed}`, sample, ctx.seed + i), pointsPerBatch, concurrency) });
  }
  const best = tried.reduce((a, b) => (b.pointsPerSecond > a.pointsPerSecond ? b : a));

  const ceilingRounds: number[] = [];
  const apiRounds: number[] = [];
  const failures = new Failures();
  for (let round = 0; round < rounds; round++) {
    const direct = async (): Promise<void> => {
      ctx.progress(`ingest: round ${round + 1}/${rounds}, ${count} points straight to Cassandra`);
      ceilingRounds.push(await writeDirect(store, make(`bench.direct.${round}.${ctx.seed}`), best.pointsPerBatch, best.concurrency));
    };
    const api = async (): Promise<void> => {
      const bodies = bodiesOf(make(`bench.api.${round}.${ctx.seed}`));
      const result = await postAll(ctx.apiUrl, bodies, sizes.apiClients, (done) => ctx.progress(`ingest: round ${round + 1}/${rounds}, through HAProxy, batch ${done}/${bodies.length}`));
      failures.absorb(result.failures);
      apiRounds.push((count - result.failures.count * sizes.apiBatch) / result.seconds);
    };
    if (round % 2 === 0) {
      await direct();
      await api();
    } else {
      await api();
      await direct();
    }
  }
  const ceiling = median(ceilingRounds);
  const apiRate = median(apiRounds);
  return {
    points: count,
    rounds,
    ceiling: { pointsPerSecond: ceiling, rounds: ceilingRounds, pointsPerBatch: best.pointsPerBatch, concurrency: best.concurrency, tried },
    api: { pointsPerSecond: apiRate, rounds: apiRounds, batch: sizes.apiBatch, clients: sizes.apiClients, errors: failures.count, errorSamples: failures.samples },
    ratio: apiRate / ceiling,
  };
}

// ---------------------------------------------------------------- single points

export interface SingleResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly errorSamples: readonly string[];
}

/** `clients` clients each POSTing one point per request for `seconds`. */
export async function benchSinglePoints(url: string, clients: number, seconds: number, prefix: string): Promise<SingleResult> {
  const latencies = new LatencySamples();
  const failures = new Failures();
  const deadline = performance.now() + seconds * 1000;
  const base = Date.now();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let seq = 0; performance.now() < deadline; seq++) {
        const began = performance.now();
        const answer = await postMetrics(url, `metric_id=${prefix}.${client}&ts=${base + seq}&value=${seq % 100}`).catch(asError);
        if (failures.check(answer)) latencies.add(performance.now() - began);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return {
    requestsPerSecond: latencies.count / elapsed,
    p50Ms: latencies.percentile(50),
    p99Ms: latencies.percentile(99),
    errors: failures.count,
    errorSamples: failures.samples,
  };
}

// ---------------------------------------------------------------- search

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
  /** The first search after every cached day summary of the metric was invalidated. */
  readonly apiColdMs: number;
  /** Searches after that one (whole closed days answered from their summaries). */
  readonly api: { readonly p50Ms: number; readonly p99Ms: number };
  readonly naive: { readonly p50Ms: number; readonly p99Ms: number };
  /** Naive p50 over API p50. */
  readonly speedup: number;
  /** Naive p50 over the cold API search. */
  readonly coldSpeedup: number;
}

/** Makes sure the year metric holds one point every `stepMs` through 2025 (written through the API once, reused after). */
export async function ensureYearMetric(ctx: BenchContext, stepMs: number): Promise<{ metricId: string; points: number }> {
  const metricId = `bench.year.${stepMs}.${ctx.seed}`;
  const expected = Math.floor((YEAR_END - YEAR_START) / stepMs) + 1;
  const existing = await searchOnce(ctx.apiUrl, metricId, YEAR_START, YEAR_END, 'count');
  if (existing.count === expected) return { metricId, points: expected };
  const points = generatePoints({ count: expected, metrics: 1, prefix: 'x', stepMs, endMs: YEAR_START + expected * stepMs, seed: ctx.seed }).map(
    (p) => ({ ...p, metricId }),
  );
  const bodies = formBatchBodies(points, 10_000);
  const { failures } = await postAll(ctx.apiUrl, bodies, 4, (done) => ctx.progress(`search: loading ${expected} points of a year, batch ${done}/${bodies.length}`));
  if (failures.count > 0) throw new Error(`loading the year metric failed for ${failures.count} batches: ${failures.samples.join('; ')}`);
  return { metricId, points: expected };
}

async function searchOnce(url: string, metricId: string, fromMs: number, toMs: number, aggregation: string): Promise<{ value: number | null; count: number }> {
  const answer = await request(`${url}/1.0/metrics?metric=${encodeURIComponent(metricId)}&from=${fromMs}&to=${toMs}&aggregation=${aggregation}`);
  if (answer.status !== 200) throw new Error(`search answered ${answer.status}: ${answer.body}`);
  return JSON.parse(answer.body) as { value: number | null; count: number };
}

/** The old Meetr way: fetch every point in the range and add them up in Node (per day partition, as many in flight as meetr uses). */
export async function naiveSum(client: CassandraClient, keyspace: string, metricId: string, fromMs: number, toMs: number): Promise<{ sum: number; count: number }> {
  const query = `SELECT value FROM ${keyspace}.points WHERE metric_id = ? AND day = ? AND ts >= ? AND ts <= ?`;
  const days: number[] = [];
  for (let day = dayBucket(fromMs); day <= dayBucket(toMs); day++) days.push(day);
  let sum = 0;
  let count = 0;
  await forEachBounded(days, 32, async (day) => {
    let pageState: string | undefined;
    do {
      const result = await client.execute(query, [metricId, day, fromMs, toMs], { prepare: true, fetchSize: 5000, ...(pageState ? { pageState } : {}) });
      for (const row of result.rows) {
        sum += row.get('value') as number;
        count++;
      }
      pageState = result.pageState ?? undefined;
    } while (pageState);
  });
  return { sum, count };
}

export async function benchSearch(ctx: BenchContext, sizes: BenchSizes): Promise<SearchResult[]> {
  const { metricId } = await ensureYearMetric(ctx, sizes.searchStepMs);
  const store = new CassandraPointStore(ctx.client, ctx.keyspace);
  const yearDays = Array.from({ length: dayBucket(YEAR_END) - dayBucket(YEAR_START) + 1 }, (_, i) => dayBucket(YEAR_START) + i);
  const results: SearchResult[] = [];
  for (const range of SEARCH_RANGES) {
    ctx.progress(`search: sum over a ${range.name}, cold, warm and the naive way`);
    await store.invalidateDaySummaries(metricId, yearDays, Date.now());
    await new Promise((resolve) => setTimeout(resolve, SUMMARY_CLOCK_MARGIN_MS + 100)); // or the next summaries are hidden at once
    const coldStarted = performance.now();
    const answer = await searchOnce(ctx.apiUrl, metricId, range.fromMs, range.toMs, 'sum');
    const apiColdMs = performance.now() - coldStarted;
    const reference = await naiveSum(ctx.client, ctx.keyspace, metricId, range.fromMs, range.toMs);
    if (answer.count !== reference.count || Math.abs((answer.value ?? 0) - reference.sum) > 1e-6 * Math.max(1, Math.abs(reference.sum))) {
      throw new Error(`the API and the naive sum disagree over a ${range.name}: ${JSON.stringify(answer)} vs ${JSON.stringify(reference)}`);
    }
    const api = await timeEach(sizes.searchRepetitions, async () => void (await searchOnce(ctx.apiUrl, metricId, range.fromMs, range.toMs, 'sum')));
    const naive = await timeEach(sizes.naiveRepetitions, async () => void (await naiveSum(ctx.client, ctx.keyspace, metricId, range.fromMs, range.toMs)));
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

// ---------------------------------------------------------------- memory

export interface MemoryResult {
  readonly batchPoints: number;
  readonly batchBodyBytes: number;
  readonly batches: number;
  /**
   * What a worker's ingest path keeps alive for one batch, stage by stage, measured
   * in this process with the same code and forced garbage collections: body text,
   * decoded form, parsed inputs, validated points, partitions. `peak` is all at once.
   */
  readonly liveBytes: { readonly body: number; readonly form: number; readonly inputs: number; readonly points: number; readonly partitions: number; readonly peak: number };
  readonly workers: ReadonlyArray<{ readonly url: string; readonly rssBeforeBytes: number; readonly rssPeakBytes: number }>;
}

async function workerRss(url: string): Promise<number | undefined> {
  try {
    const text = (await request(`${url}/metrics`, { timeoutMs: 5_000 })).body;
    const match = /^process_resident_memory_bytes(?:\{[^}]*\})? (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text);
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/** The ingest path's live memory per stage for one form body (see MemoryResult.liveBytes). */
export function measureLiveSet(body: Buffer): MemoryResult['liveBytes'] {
  v8.setFlagsFromString('--expose-gc');
  const collect = runInNewContext('gc') as () => void;
  const heapUsed = (): number => {
    collect();
    collect();
    return process.memoryUsage().heapUsed;
  };
  const start = heapUsed();
  const text = body.toString('utf8');
  const afterBody = heapUsed();
  const form = new URLSearchParams(text);
  const metrics = form.get('metrics') ?? undefined;
  const afterForm = heapUsed();
  const inputs = pointInputsFromForm((name) => (name === 'metrics' ? metrics : (form.get(name) ?? undefined)), Number.MAX_SAFE_INTEGER);
  const afterInputs = heapUsed();
  const points = validatePoints(inputs, 'UTC');
  const afterPoints = heapUsed();
  const partitions = groupByPartition(points);
  const afterPartitions = heapUsed();
  const result = {
    body: afterBody - start,
    form: afterForm - afterBody,
    inputs: afterInputs - afterForm,
    points: afterPoints - afterInputs,
    partitions: afterPartitions - afterPoints,
    peak: afterPartitions - start,
  };
  if (partitions.length === 0 || text.length === 0) throw new Error('nothing was measured'); // keeps every stage alive until here
  return result;
}

/** Sends 100,000-point batches through HAProxy one after the other while sampling every worker's RSS. */
export async function benchMemory(ctx: BenchContext, sizes: BenchSizes): Promise<MemoryResult> {
  const points = generatePoints({ count: sizes.memoryBatchPoints, metrics: 50, prefix: `bench.memory.${ctx.seed}`, stepMs: 1_000, endMs: Date.now(), seed: ctx.seed });
  const body = formBatchBody(points);
  const before = await Promise.all(ctx.workerUrls.map(async (url) => (await workerRss(url)) ?? 0));
  const peak = [...before];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await Promise.all(
        ctx.workerUrls.map(async (url, i) => {
          const rss = await workerRss(url);
          if (rss !== undefined) peak[i] = Math.max(peak[i]!, rss);
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  try {
    const { failures } = await postAll(ctx.apiUrl, Array.from({ length: sizes.memoryBatches }, () => body), 1, (done) =>
      ctx.progress(`memory: ${sizes.memoryBatchPoints}-point batch ${done}/${sizes.memoryBatches}`),
    );
    if (failures.count > 0) throw new Error(`${failures.count} of the ${sizes.memoryBatchPoints}-point batches failed: ${failures.samples.join('; ')}`);
  } finally {
    sampling = false;
    await sampler;
  }
  return {
    batchPoints: sizes.memoryBatchPoints,
    batchBodyBytes: Buffer.byteLength(body),
    batches: sizes.memoryBatches,
    liveBytes: measureLiveSet(Buffer.from(body)),
    workers: ctx.workerUrls.map((url, i) => ({ url, rssBeforeBytes: before[i]!, rssPeakBytes: peak[i]! })),
  };
}
