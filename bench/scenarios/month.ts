/**
 * Thirty days at a 1-hour step (`npm run bench -- month`): 100 counters scraped
 * every 15 s for 30 UTC days (17,280,000 samples) remote-written a day at a time,
 * sealed by the roller, then `rate(x[5m])`, `sum by (group) (rate(x[5m]))` and
 * `max_over_time(x[1h])` over the 30 days at a 1-hour step, asked of meetr and of
 * Debian's Prometheus backfilled with the same samples; answers compared.
 *
 * `--reuse` queries what an earlier run of the same seed loaded (meetr's keyspace and
 * the Prometheus blocks in .local/bench/month), for timing again, for example under
 * another MEETR_MAX_QUERY_SAMPLES.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { postRemoteWrite, prometheusOn, remoteWriteBodies, openMetrics, type LabelledSeries } from '../backfill.js';
import type { BenchContext } from '../context.js';
import { compareQuery, type ComparedQuery } from './prometheus.js';
import { rolledUp } from './search.js';

const SERIES = 100;
const DAYS = 30;
const SCRAPE_MS = 15_000;
const DAY_MS = 86_400_000;
const STEP_S = 3_600;
const CLIENTS = 8;
const QUERY_RUNS = 3;
const NAME = 'month_requests_total';

const MONTH_QUERIES = [
  `rate(${NAME}[5m])`,
  `sum by (group) (rate(${NAME}[5m]))`,
  `max_over_time(${NAME}[1h])`,
] as const;

export interface MonthBenchResult {
  readonly samples: number;
  /** Null when --reuse skipped loading. */
  readonly remoteWriteSamplesPerSecond: number | null;
  readonly remoteWriteFailures: number;
  /** From the end of loading until the roller had rolled and sealed the month. */
  readonly sealedAfterMs: number | null;
  readonly queries: readonly ComparedQuery[];
}

/** The 30 UTC days that ended at the start of the day before today's (so every hour of them is over and sealable). */
function monthStart(): number {
  return Math.floor(Date.now() / DAY_MS) * DAY_MS - (DAYS + 1) * DAY_MS;
}

/** Series `i` over [fromMs, toMs): a counter that grows by (i % 7 + 1) * 3 a scrape and resets once a day. */
function seriesBetween(i: number, seed: number, monthFromMs: number, fromMs: number, toMs: number): LabelledSeries {
  const increment = ((i % 7) + 1) * 3;
  const resetOf = (day: number): number => monthFromMs + day * DAY_MS + ((i * 7919 + seed + day * 31) % 96) * 900_000;
  const samples: Array<[number, number]> = [];
  for (let ts = fromMs; ts < toMs; ts += SCRAPE_MS) {
    const day = Math.floor((ts - monthFromMs) / DAY_MS);
    const since = ts >= resetOf(day) ? resetOf(day) : day === 0 ? monthFromMs : resetOf(day - 1);
    samples.push([ts, ((ts - since) / SCRAPE_MS) * increment]);
  }
  return { labels: { __name__: NAME, series: String(i), group: `g${i % 10}` }, samples };
}

/** The 100 series over day `day` of the month (0-based). */
function dayOfSeries(day: number, seed: number, monthFromMs: number): LabelledSeries[] {
  const dayFrom = monthFromMs + day * DAY_MS;
  return Array.from({ length: SERIES }, (_, i) => seriesBetween(i, seed, monthFromMs, dayFrom, dayFrom + DAY_MS));
}

export async function benchMonth(
  ctx: BenchContext,
  workDir: string,
  prometheusPort: number,
  reuse: boolean,
): Promise<MonthBenchResult> {
  const { apiUrl, store, seed, progress } = ctx;
  const fromMs = monthStart();
  const toMs = fromMs + DAYS * DAY_MS;
  const samples = (SERIES * (toMs - fromMs)) / SCRAPE_MS;
  const reusing = reuse && existsSync(join(workDir, 'data'));

  let remote: { seconds: number; failures: number } | undefined;
  let sealedAfterMs: number | null = null;
  if (!reusing) {
    remote = { seconds: 0, failures: 0 };
    for (let day = 0; day < DAYS; day++) {
      progress(`month: remote write of day ${day + 1} of ${DAYS} (${samples / DAYS} samples)`);
      const sent = await postRemoteWrite(apiUrl, remoteWriteBodies(dayOfSeries(day, seed, fromMs)), CLIENTS);
      remote.seconds += sent.seconds;
      remote.failures += sent.failures;
    }
  }
  progress('month: backfilling the local Prometheus, a day at a time');
  const prometheus = await prometheusOn(
    workDir,
    prometheusPort,
    reusing ? undefined : Array.from({ length: DAYS }, (_, day) => () => openMetrics(dayOfSeries(day, seed, fromMs))),
  );
  const queries: ComparedQuery[] = [];
  try {
    if (!reusing) {
      progress('month: waiting for the roller to seal the month');
      const sealStarted = performance.now();
      await rolledUp(store);
      sealedAfterMs = performance.now() - sealStarted;
    }
    // The evaluation instants start on the hour after the month's first: every window lies within it.
    const [start, end] = [fromMs + 3_600_000, toMs];
    for (const query of MONTH_QUERIES) {
      progress(`month: query_range ${query}`);
      const compared = await compareQuery(
        { meetr: apiUrl, prometheus: prometheus.url },
        query,
        [start, end, STEP_S],
        QUERY_RUNS,
      );
      queries.push({ query, steps: (end - start) / (STEP_S * 1000) + 1, ...compared });
    }
  } finally {
    prometheus.stop();
  }
  return {
    samples,
    remoteWriteSamplesPerSecond: remote === undefined ? null : samples / remote.seconds,
    remoteWriteFailures: remote?.failures ?? 0,
    sealedAfterMs,
    queries,
  };
}
