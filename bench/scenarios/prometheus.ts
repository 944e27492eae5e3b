/**
 * meetr beside the local Prometheus, in one run (`npm run bench -- prometheus`):
 * - ingest of one day of 100 labelled series (a counter scraped every 15 s: 576,000
 *   samples) as remote-write requests of 2,000 samples (Prometheus' default
 *   max_samples_per_send), as OTLP/HTTP protobuf exports of 2,000 data points (the
 *   OpenTelemetry SDK's serializer), as form batches of the same points, and
 *   straight to Cassandra through meetr's storage adapter (the ceiling);
 * - `query_range` of that day at a 1-minute step over the 100 series, asked of meetr
 *   (through HAProxy) and of Debian's Prometheus holding the same samples (backfilled
 *   with `promtool tsdb create-blocks-from openmetrics`); both answers are compared.
 */
import type { Point } from '../../src/domain/point.js';
import { seriesId } from '../../src/domain/series.js';
import { backfilledPrometheus, postRemoteWrite, remoteWriteBodies, type LabelledSeries } from '../backfill.js';
import type { BenchContext } from '../context.js';
import { formBatchBodies } from '../dataset.js';
import { otlpBodies, postOtlp } from '../otlp.js';
import { Failures, postAll } from '../failures.js';
import { median } from '../latency.js';
import { writeDirect } from './ingest.js';
import { rolledUp } from './search.js';

const SERIES = 100;
const SCRAPE_MS = 15_000;
const DAY_MS = 86_400_000;
const SAMPLES_PER_REQUEST = 2_000;
const CLIENTS = 8;
const QUERY_RUNS = 5;

export interface PrometheusBenchResult {
  readonly samples: number;
  readonly remoteWriteSamplesPerSecond: number;
  readonly otlpSamplesPerSecond: number;
  readonly formBatchPointsPerSecond: number;
  readonly driverPointsPerSecond: number;
  readonly remoteWriteFailures: number;
  readonly otlpFailures: number;
  readonly formBatchFailures: number;
  readonly formBatchFailureSamples: readonly string[];
  /** From the end of loading until the roller had rolled and sealed the day. */
  readonly sealedAfterMs: number;
  readonly queries: readonly ComparedQuery[];
}

/** One query range asked of meetr and of Prometheus, several times. */
export interface ComparedQuery {
  readonly query: string;
  readonly steps: number;
  /** Series in Prometheus' answer. */
  readonly series: number;
  /** Median of the timed runs, or null with the error meetr answered (a bound, say). */
  readonly meetrMs: number | null;
  readonly meetrError: string | null;
  readonly prometheusMs: number;
  /** The untimed runs before them, in order: a worker's first runs of a query include compiling its code paths. */
  readonly meetrWarmUpMs: readonly number[];
  readonly prometheusWarmUpMs: readonly number[];
  /** Whether every answer of meetr equalled Prometheus'. */
  readonly same: boolean;
  /** Where the first answer that differed did (run, series, step, both values), to look into; null when none did. */
  readonly firstDifference: string | null;
}

/** How far into the day the queries start: their longest window. */
const QUERY_MARGIN_MS = 10 * 60_000;

/** 100 counters over one UTC day that ended at least two hours ago, one sample per 15 s, each resetting once. */
function benchDay(seed: number): { fromMs: number; series: LabelledSeries[] } {
  const fromMs = Math.floor((Date.now() - 2 * 3_600_000) / DAY_MS) * DAY_MS - DAY_MS;
  const series = Array.from({ length: SERIES }, (_, i) => {
    const samples: Array<[number, number]> = [];
    let value = 0;
    for (let ts = fromMs; ts < fromMs + DAY_MS; ts += SCRAPE_MS) {
      value = ts === fromMs + ((i * 7919 + seed) % 96) * 900_000 ? 0 : value + ((i % 7) + 1) * 3;
      samples.push([ts, value]);
    }
    return { labels: { __name__: 'bench_requests_total', series: String(i), group: `g${i % 10}` }, samples };
  });
  return { fromMs, series };
}

export type Matrix = Array<{ metric: Record<string, string>; values: Array<[number, string]> }>;

/** A range query of `url`, timed to its parsed answer; throws what a failed one answered. */
export async function queryRange(
  url: string,
  query: string,
  startMs: number,
  endMs: number,
  stepSeconds = 60,
): Promise<{ ms: number; result: Matrix }> {
  const body = new URLSearchParams({
    query,
    start: String(startMs / 1000),
    end: String(endMs / 1000),
    step: String(stepSeconds),
  });
  const started = performance.now();
  const response = await fetch(`${url}/api/v1/query_range`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: body.toString(),
  });
  const answer = (await response.json()) as { status: string; data?: { result: Matrix }; error?: string };
  const ms = performance.now() - started;
  if (answer.status !== 'success') throw new Error(`${url}: ${query}: ${answer.error}`);
  return { ms, result: answer.data!.result };
}

/**
 * Where two matrices first differ in their series, steps or values (to 1e-9
 * relative: sums may add in another order), or null when they hold the same.
 */
export function matrixDifference(a: Matrix, b: Matrix): string | null {
  const key = (m: Record<string, string>): string => JSON.stringify(Object.entries(m).sort());
  const other = new Map(b.map((s) => [key(s.metric), s.values]));
  if (a.length !== b.length) return `${a.length} series against ${b.length}`;
  for (const s of a) {
    const values = other.get(key(s.metric));
    if (values === undefined) return `${key(s.metric)} only in the first`;
    if (values.length !== s.values.length) return `${key(s.metric)}: ${s.values.length} steps against ${values.length}`;
    const i = s.values.findIndex(
      ([t, v], i) =>
        t !== values[i]![0] ||
        !(Math.abs(Number(v) - Number(values[i]![1])) <= 1e-9 * Math.max(1, Math.abs(Number(v)))),
    );
    if (i >= 0)
      return `${key(s.metric)} at step ${i}: ${JSON.stringify(s.values[i])} against ${JSON.stringify(values[i])}`;
  }
  return null;
}

/**
 * Untimed runs of each query before the timed ones, of each system: six per meetr
 * worker behind HAProxy (two by default), and as many of Prometheus. A worker's
 * first runs of a query are slower while V8 compiles its paths (a day's plain
 * query, straight to a fresh worker: 329, 283 and 220 ms, then 100-140 ms from
 * the tenth on); a running service has long been through them. They are reported
 * apart (meetrWarmUpMs).
 */
const WARM_UP_RUNS = 12;

/** One query asked of meetr and of Prometheus `runs` times over [startMs, endMs], after WARM_UP_RUNS untimed: median times, whether every answer agreed, meetr's error if it refused. */
export async function compareQuery(
  urls: { readonly meetr: string; readonly prometheus: string },
  query: string,
  [startMs, endMs, stepSeconds]: readonly [number, number, number],
  runs: number,
): Promise<Omit<ComparedQuery, 'query' | 'steps'>> {
  const [mine, theirs, myWarmUps, theirWarmUps] = [[] as number[], [] as number[], [] as number[], [] as number[]];
  let [same, series, meetrError, firstDifference] = [true, 0, null as string | null, null as string | null];
  for (let run = -WARM_UP_RUNS; run < runs; run++) {
    if (run < 0) {
      theirWarmUps.push((await queryRange(urls.prometheus, query, startMs, endMs, stepSeconds)).ms);
      const myWarmUp = await queryRange(urls.meetr, query, startMs, endMs, stepSeconds).catch(() => undefined);
      if (myWarmUp !== undefined) myWarmUps.push(myWarmUp.ms);
      continue;
    }
    const theirAnswer = await queryRange(urls.prometheus, query, startMs, endMs, stepSeconds);
    theirs.push(theirAnswer.ms);
    series = theirAnswer.result.length;
    try {
      const myAnswer = await queryRange(urls.meetr, query, startMs, endMs, stepSeconds);
      mine.push(myAnswer.ms);
      const difference = matrixDifference(myAnswer.result, theirAnswer.result);
      if (difference !== null && same) firstDifference = `run ${run}: ${difference}`;
      same &&= difference === null;
    } catch (error) {
      meetrError = error instanceof Error ? error.message : String(error);
      same = false;
    }
  }
  return {
    meetrMs: mine.length === 0 ? null : median(mine),
    meetrError,
    prometheusMs: median(theirs),
    meetrWarmUpMs: myWarmUps.map(Math.round),
    prometheusWarmUpMs: theirWarmUps.map(Math.round),
    same,
    firstDifference,
    series,
  };
}

export async function benchPrometheus(
  ctx: BenchContext,
  workDir: string,
  prometheusPort: number,
): Promise<PrometheusBenchResult> {
  const { apiUrl, store, seed, progress } = ctx;
  const { fromMs, series } = benchDay(seed);
  const samples = series.reduce((sum, s) => sum + s.samples.length, 0);

  const points: Point[] = series.flatMap((s) =>
    s.samples.map(([ts, value]) => ({
      metricId: seriesId(Object.entries(s.labels).map(([name, v]) => ({ name, value: v }))),
      ts,
      value,
    })),
  );
  const remoteBodies = remoteWriteBodies(series, SAMPLES_PER_REQUEST);
  const exportBodies = otlpBodies(series, SAMPLES_PER_REQUEST);
  const formBodies = formBatchBodies(points, SAMPLES_PER_REQUEST);
  // Alternating rounds (the same points each time: upserts), the second of each counted, so warm-up falls on neither.
  let remote = { seconds: 0, failures: 0 };
  let otlp = { seconds: 0, failures: 0 };
  let form = { seconds: 0, failures: new Failures() };
  for (let round = 1; round <= 2; round++) {
    progress(`prometheus: remote write of ${samples} samples, round ${round}`);
    remote = await postRemoteWrite(apiUrl, remoteBodies, CLIENTS);
    progress(`prometheus: the same samples as OTLP exports, round ${round}`);
    otlp = await postOtlp(apiUrl, exportBodies, CLIENTS);
    progress(`prometheus: the same points as form batches, round ${round}`);
    form = await postAll(apiUrl, formBodies, CLIENTS, () => undefined, true);
  }
  progress('prometheus: the same points straight to Cassandra');
  const driverPointsPerSecond = await writeDirect(store, points, 100, 64);

  progress('prometheus: backfilling the local Prometheus');
  const prometheus = await backfilledPrometheus(workDir, series, prometheusPort);
  // Queries read what meetr keeps long-term: the day's hours rolled and sealed into chunks.
  progress('prometheus: waiting for the roller to seal the day');
  const sealStarted = performance.now();
  await rolledUp(store);
  const sealedAfterMs = performance.now() - sealStarted;
  const queries: ComparedQuery[] = [];
  try {
    // From the day's tenth minute: no window (10m at most) or lookback (5m) reaches the day before, which
    // meetr's keyspace may hold from an earlier run (the bench's day moves at 02:00 UTC) and Prometheus does not.
    const [start, end] = [fromMs + QUERY_MARGIN_MS, fromMs + DAY_MS];
    for (const query of [
      'bench_requests_total',
      'sum by (group) (rate(bench_requests_total[5m]))',
      'max_over_time(bench_requests_total[10m])',
    ]) {
      progress(`prometheus: query_range ${query}`);
      const compared = await compareQuery(
        { meetr: apiUrl, prometheus: prometheus.url },
        query,
        [start, end, 60],
        QUERY_RUNS,
      );
      queries.push({ query, steps: (end - start) / 60_000 + 1, ...compared });
    }
  } finally {
    prometheus.stop();
  }
  return {
    samples,
    remoteWriteSamplesPerSecond: samples / remote.seconds,
    otlpSamplesPerSecond: samples / otlp.seconds,
    formBatchPointsPerSecond: points.length / form.seconds,
    driverPointsPerSecond,
    remoteWriteFailures: remote.failures,
    otlpFailures: otlp.failures,
    formBatchFailures: form.failures.count,
    formBatchFailureSamples: form.failures.samples,
    sealedAfterMs,
    queries,
  };
}
