/**
 * PromQL over sealed hours, by difference with the real thing: twenty minutes of the
 * differential tier's exporter (promql-corpus.ts), scraped every second with
 * millisecond jitter around an hour boundary that is over, are backfilled into
 * Debian's Prometheus (promtool) and remote-written into meetr through HAProxy.
 * Once the roller has sealed both hours into chunks, each query of the corpus is
 * asked of both at the boundary, beside it and across it, and the answers must agree
 * (promql-compare.ts). meetr reads those hours from their chunks: the live tier
 * (promql-differential.test.ts) never reaches a sealed hour. min, max and count
 * over time with windows on hours are answered from rollups where an hour is
 * plain (promql/rollup-windows.ts), from chunks where it holds NaN or ±Inf.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { backfilledPrometheus, postRemoteWrite, remoteWriteBodies, type LabelledSeries } from '../../bench/backfill.js';
import { loadConfig } from '../../src/config.js';
import { chunkPeriod } from '../../src/domain/partitions.js';
import { seriesId } from '../../src/domain/series.js';
import { createCassandraClient, type CassandraClient } from '../../src/storage/cassandra/client.js';
import { MS_PER_HOUR, MS_PER_MINUTE } from '../../src/time/units.js';
import { eventually } from '../support/eventually.js';
import { ask, compareCorpus, difference, expectAgreement } from '../support/promql-compare.js';
import { CORPUS, exposition } from './promql-corpus.js';

const stack = inject('stack');
const dir = join(stack.env.MEETR_RUN_DIR!, 'prometheus-sealed');
const promPort = Number(stack.env.MEETR_HTTP_PORT) + 1304;
const SCRAPES = 1_200;
/** The boundary between the two hours written: the later hour has been over for five minutes at least. */
const boundary = Math.floor((Date.now() - 5 * MS_PER_MINUTE) / MS_PER_HOUR) * MS_PER_HOUR - MS_PER_HOUR;
let prometheus: { url: string; stop: () => void } | undefined;

const VALUES: Record<string, number> = { NaN: NaN, '+Inf': Infinity, '-Inf': -Infinity };

/**
 * The exporter's pages as series: scrape i at boundary - 10 min + i s plus a jitter
 * under a second, its page the exporter's (i mod 100 + 1)-th, so counters reset and
 * series come and go all along. No `up`: the Prometheus tier (prometheus.test.ts)
 * lists every `up` series of the day, and the order of the files is not fixed.
 */
function scraped(): LabelledSeries[] {
  const series = new Map<string, { labels: Record<string, string>; samples: Array<[number, number]> }>();
  const add = (labels: Record<string, string>, ts: number, value: number): void => {
    const key = JSON.stringify(labels);
    const one = series.get(key) ?? { labels, samples: [] };
    one.samples.push([ts, value]);
    series.set(key, one);
  };
  const target = { job: 'diff', instance: 'sealed:9100' };
  for (let i = 0; i < SCRAPES; i++) {
    const ts = boundary - 10 * MS_PER_MINUTE + i * 1_000 + ((i * 7_919) % 1_000);
    for (const line of exposition((i % 100) + 1)
      .trim()
      .split('\n')) {
      const [, name, pairs, value] = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line)!;
      const labels: Record<string, string> = { __name__: name!, ...target };
      for (const pair of pairs?.split(',') ?? []) {
        const [label, quoted] = pair.split('=');
        labels[label!] = quoted!.slice(1, -1);
      }
      add(labels, ts, VALUES[value!] ?? Number(value));
    }
  }
  return [...series.values()];
}

const series = scraped();

/** Whether every series has a chunk for both hours, as the stack's keyspace holds them. */
async function allSealed(client: CassandraClient, keyspace: string): Promise<boolean> {
  const hours = [boundary / MS_PER_HOUR - 1, boundary / MS_PER_HOUR];
  for (const { labels } of series) {
    const metricId = seriesId(Object.entries(labels).map(([name, value]) => ({ name, value })));
    for (const hour of hours) {
      const found = await client.execute(
        `SELECT hour FROM ${keyspace}.chunks WHERE metric_id = ? AND period = ? AND hour = ?`,
        [metricId, chunkPeriod(hour), hour],
        { prepare: true },
      );
      if (found.rowLength === 0) return false;
    }
  }
  return true;
}

beforeAll(async () => {
  prometheus = await backfilledPrometheus(dir, series, promPort);
  const written = await postRemoteWrite(stack.baseUrl, remoteWriteBodies(series), 4);
  expect(written.failures).toBe(0);
  const config = loadConfig(stack.env);
  const client = createCassandraClient({ ...config, storageTimeoutMs: 20_000 });
  try {
    await eventually(
      () => allSealed(client, config.keyspace),
      180_000,
      `the roller to seal both hours of the ${series.length} series`,
    );
  } finally {
    await client.shutdown();
  }
  await eventually(
    async () =>
      ((await (await fetch(`http://127.0.0.1:${stack.rollerPort}/health`)).json()) as { lagSeconds: number })
        .lagSeconds === 0,
    90_000,
    'the roller to catch up',
  );
}, 300_000);

afterAll(() => prometheus?.stop());

/** The hours' seals of the series named `name`, by whether they are plain. */
async function plainness(name: string): Promise<Record<string, number>> {
  const config = loadConfig(stack.env);
  const client = createCassandraClient({ ...config, storageTimeoutMs: 20_000 });
  const seen: Record<string, number> = {};
  try {
    for (const { labels } of series.filter((s) => s.labels.__name__ === name)) {
      const metricId = seriesId(Object.entries(labels).map(([label, value]) => ({ name: label, value })));
      for (const hour of [boundary / MS_PER_HOUR - 1, boundary / MS_PER_HOUR]) {
        const found = await client.execute(
          `SELECT plain FROM ${config.keyspace}.chunks WHERE metric_id = ? AND period = ? AND hour = ?`,
          [metricId, chunkPeriod(hour), hour],
          { prepare: true },
        );
        const key = String(found.first()?.get('plain'));
        seen[key] = (seen[key] ?? 0) + 1;
      }
    }
  } finally {
    await client.shutdown();
  }
  return seen;
}

/** Windows on hours, alone and under aggregations and operators: answered from rollups in plain hours. The last selects series whose labels clash without their names. */
const HOUR_QUERIES = [
  'max_over_time(diff_temperature_celsius[1h])',
  'min_over_time(diff_temperature_celsius[2h] offset 1h)',
  'count_over_time(diff_requests_total[1h])',
  'max_over_time(diff_special[1h])',
  'min_over_time(diff_special[2h])',
  'count_over_time(diff_special[1h])',
  'min_over_time(diff_items[1h])',
  'max(max_over_time(diff_temperature_celsius[1h])) - min(min_over_time(diff_temperature_celsius[2h]))',
  'max by (room) (max_over_time(diff_temperature_celsius[1h]))',
  'sum(count_over_time(diff_special[1h])) / count(count_over_time(diff_items[1h]))',
  'max_over_time({job="diff",instance="sealed:9100",path="/a"}[1h])',
];

describe('the PromQL corpus over sealed hours, asked of Prometheus and of meetr', () => {
  it('holds the same samples in both: what Prometheus was backfilled with, meetr answers from its chunks', async () => {
    const query = { query: '{job="diff",instance="sealed:9100"}[21m]', time: String(boundary / 1000 + 600) };
    const [mine, theirs] = await Promise.all([
      ask(stack.baseUrl, '/api/v1/query', query),
      ask(prometheus!.url, '/api/v1/query', query),
    ]);
    const samples = (theirs.body.data!.result as Array<{ values: unknown[] }>).reduce((n, s) => n + s.values.length, 0);
    expect(samples).toBe(series.reduce((n, s) => n + s.samples.length, 0));
    expect(difference(mine, theirs, false)).toBeUndefined();
  });

  it(`answers all ${CORPUS.length} queries as Prometheus does, at the hour's edge, beside it, across it and at a step longer than their windows`, async () => {
    const edge = boundary / 1000;
    const run = await compareCorpus(stack.baseUrl, prometheus!.url, CORPUS, (query) => [
      ['instant', '/api/v1/query', { query, time: String(edge) }],
      ['instant', '/api/v1/query', { query, time: String(edge - 41.3) }],
      ['range', '/api/v1/query_range', { query, start: String(edge - 80), end: String(edge + 80), step: '7' }],
      ['range', '/api/v1/query_range', { query, start: String(edge - 540), end: String(edge + 540), step: '60' }],
      // Windows shorter than the step, only theirs read: before the points, on each side of the edge and across it.
      ['range', '/api/v1/query_range', { query, start: String(edge - 1190), end: String(edge + 610), step: '150' }],
    ]);
    expectAgreement(run, CORPUS.length * 5);
  }, 600_000);

  it('seals an hour with NaN or ±Inf as not plain, and one of finite numbers as plain', async () => {
    expect(await plainness('diff_special')).toEqual({ false: 4 });
    expect(await plainness('diff_temperature_celsius')).toEqual({ true: 6 });
  });

  it(`answers ${HOUR_QUERIES.length} min, max and count over time on hours as Prometheus does, from rollups and from chunks`, async () => {
    const edge = boundary / 1000;
    const run = await compareCorpus(stack.baseUrl, prometheus!.url, HOUR_QUERIES, (query) => [
      ['range', '/api/v1/query_range', { query, start: String(edge - 7200), end: String(edge), step: '3600' }],
      // The last window ends where an hour begins that is under way, or only just over: read from samples.
      ['range', '/api/v1/query_range', { query, start: String(edge - 3600), end: String(edge + 3600), step: '3600' }],
    ]);
    expect(run.failures, run.failures.join('\n')).toEqual([]);
    // Every answer holds data but two: the last query's labels clash (an error from both), and the
    // offset query's windows in the first ask end before the points begin (empty in both).
    expect(run.answered).toEqual({ withData: (HOUR_QUERIES.length - 1) * 2 - 1, empty: 1, errors: 2 });
  }, 120_000);
});
