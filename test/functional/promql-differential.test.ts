/**
 * PromQL by difference with the real thing: Debian's Prometheus 2.42 scrapes an
 * exporter of this tier every second (counters that reset, gauges, a classic
 * histogram, series that appear and vanish, NaN and infinities) and remote-writes
 * every sample, staleness markers included, into meetr through HAProxy. Then each
 * query of the corpus (promql-corpus.ts) is asked of both, as instant queries at
 * two times and as a range query, and the answers must agree: the same series,
 * timestamps and values to Prometheus' own test tolerance (promql/test.go:
 * relative 1e-6), or the same error type.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { forEachBounded } from '../../src/concurrency.js';
import { eventually } from '../support/eventually.js';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.js';
import { CORPUS } from './promql-corpus.js';

const stack = inject('stack');
const dir = join(stack.env.MEETR_RUN_DIR!, 'prometheus-differential');
const promPort = Number(stack.env.MEETR_HTTP_PORT) + 1302;
const exporterPort = promPort + 1;
let prometheus: RunningPrometheus | undefined;
let exporter: Server | undefined;
let scrapes = 0;

/** The exporter's page at its n-th scrape. */
function exposition(n: number): string {
  const lines: string[] = [];
  const add = (name: string, labels: string, value: number): void => {
    lines.push(
      `${name}${labels === '' ? '' : `{${labels}}`} ${Number.isNaN(value) ? 'NaN' : value === Infinity ? '+Inf' : value === -Infinity ? '-Inf' : value}`,
    );
  };
  add('diff_requests_total', 'method="GET",path="/a"', 3 * n);
  add('diff_requests_total', 'method="GET",path="/b"', Math.floor(1.5 * n) + (n % 4));
  add('diff_requests_total', 'method="POST",path="/a"', n >= 45 ? 5 * (n - 45) : 5 * n); // resets at the 45th scrape
  add('diff_requests_total', 'method="POST",path="/c"', 0.5 * n);
  ['a', 'b', 'c'].forEach((room, k) =>
    add('diff_temperature_celsius', `room="${room}"`, room === 'c' ? -3 + n / 10 : 20 + 5 * Math.sin(n / 7 + k)),
  );
  for (let shard = 0; shard < 5; shard++) add('diff_items', `shard="${shard}"`, (n + shard * 3) % 5);
  if (n >= 20 && n < 50) add('diff_flaky', 'id="1"', n);
  if (n >= 60) add('diff_flaky', 'id="2"', -n);
  add('diff_special', 'kind="nan"', n % 10 === 3 ? NaN : n);
  add('diff_special', 'kind="inf"', n % 15 === 0 ? Infinity : -n);
  for (const path of ['/a', '/b']) {
    let cumulative = 0;
    for (const [i, le] of ['0.1', '0.25', '0.5', '1', '+Inf'].entries()) {
      cumulative += Math.floor(n * (path === '/a' ? i + 1 : 5 - i));
      add('diff_latency_seconds_bucket', `path="${path}",le="${le}"`, cumulative);
    }
    add('diff_latency_seconds_sum', `path="${path}"`, n * 0.37);
    add('diff_latency_seconds_count', `path="${path}"`, cumulative);
  }
  for (const cpu of ['0', '1']) {
    add('diff_cpu_seconds_total', `cpu="${cpu}",mode="user"`, n * (cpu === '0' ? 0.3 : 0.7));
    add('diff_cpu_seconds_total', `cpu="${cpu}",mode="idle"`, n * (cpu === '0' ? 0.7 : 0.3));
    add('diff_cpu_info', `cpu="${cpu}",model="m${cpu}"`, 1);
  }
  add('diff_version', 'version="2.42.7"', 2);
  add('diff_timestamp_seconds', '', 1_700_000_000 + n * 7 * 3_600 + n * 61);
  return `${lines.join('\n')}\n`;
}

beforeAll(async () => {
  exporter = createServer((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    response.end(exposition(++scrapes));
  });
  await new Promise<void>((resolve) => exporter!.listen(exporterPort, '127.0.0.1', resolve));
  prometheus = await startPrometheus(
    dir,
    promPort,
    `  - job_name: diff\n    static_configs: [{ targets: ['127.0.0.1:${exporterPort}'] }]`,
    `${stack.baseUrl}/api/v1/write`,
  );
}, 90_000);

afterAll(async () => {
  prometheus?.stop();
  await new Promise((resolve) => exporter?.close(resolve));
});

type Answer = { status: string; errorType?: string; error?: string; data?: { resultType: string; result: unknown } };
type Series = { metric: Record<string, string>; values?: Array<[number, string]>; value?: [number, string] };

async function ask(
  base: string,
  path: string,
  params: Record<string, string>,
): Promise<{ status: number; body: Answer }> {
  const response = await fetch(`${base}${path}?${new URLSearchParams(params).toString()}`);
  return { status: response.status, body: (await response.json()) as Answer };
}

/** Prometheus' almostEqual (promql/test.go): equal, both NaN, or within 1e-6 relative. */
function almostEqual(a: string, b: string): boolean {
  if (a === b) return true;
  const [x, y] = [Number(a), Number(b)];
  if (Number.isNaN(x) && Number.isNaN(y)) return true;
  if (!Number.isFinite(x) || !Number.isFinite(y)) return false;
  const diff = Math.abs(x - y);
  if (x === 0 || y === 0 || diff < 2.2250738585072014e-308)
    return diff < 1e-6 * 2.2250738585072014e-308 || diff < 1e-12;
  return diff / (Math.abs(x) + Math.abs(y)) < 1e-6;
}

const key = (labels: Record<string, string>): string =>
  JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** Where two answers differ, or undefined when they agree. Vectors are compared in order only where the query sorts. */
function difference(
  mine: { status: number; body: Answer },
  theirs: { status: number; body: Answer },
  ordered: boolean,
): string | undefined {
  if (theirs.body.status === 'error' || mine.body.status === 'error') {
    if (mine.body.errorType === theirs.body.errorType && mine.status === theirs.status) return undefined;
    return `Prometheus: ${theirs.status} ${theirs.body.errorType ?? ''} ${theirs.body.error ?? ''}; meetr: ${mine.status} ${mine.body.errorType ?? ''} ${mine.body.error ?? ''}`;
  }
  const [a, b] = [mine.body.data!, theirs.body.data!];
  if (a.resultType !== b.resultType) return `result type ${a.resultType}, Prometheus ${b.resultType}`;
  if (a.resultType === 'scalar' || a.resultType === 'string') {
    const [[ta, va], [tb, vb]] = [a.result as [number, string], b.result as [number, string]];
    return ta === tb && (a.resultType === 'string' ? va === vb : almostEqual(va, vb))
      ? undefined
      : `${JSON.stringify(a.result)} vs Prometheus ${JSON.stringify(b.result)}`;
  }
  const [left, right] = [a.result as Series[], b.result as Series[]];
  const mineKeys = left.map((s) => key(s.metric));
  const theirKeys = right.map((s) => key(s.metric));
  if (
    JSON.stringify(ordered ? mineKeys : [...mineKeys].sort()) !==
    JSON.stringify(ordered ? theirKeys : [...theirKeys].sort())
  )
    return `series ${mineKeys.join(' ')} vs Prometheus ${theirKeys.join(' ')}`;
  const byKey = new Map(left.map((s) => [key(s.metric), s]));
  for (const series of right) {
    const other = byKey.get(key(series.metric))!;
    const [points, otherPoints] =
      series.values !== undefined ? [series.values, other.values ?? []] : [[series.value!], [other.value!]];
    if (points.length !== otherPoints.length)
      return `${key(series.metric)}: ${otherPoints.length} points vs Prometheus ${points.length}`;
    for (const [i, [t, v]] of points.entries()) {
      const [ot, ov] = otherPoints[i]!;
      if (ot !== t || !almostEqual(ov, v)) return `${key(series.metric)} @${t}: ${ot} ${ov} vs Prometheus ${v}`;
    }
  }
  return undefined;
}

describe('the PromQL corpus, asked of Prometheus and of meetr', () => {
  it(`answers all ${CORPUS.length} queries as Prometheus does, instant and range`, async () => {
    // 100 scrapes: the flaky series come and go, the counter resets, every range is filled.
    await eventually(
      async () => scrapes >= 100,
      150_000,
      `100 scrapes (${scrapes}; ${prometheus?.output().slice(-300)})`,
    );
    const end = Math.floor(Date.now() / 1000) - 3;
    await eventually(
      async () => {
        // The last scrape meetr holds, asked of meetr itself (samples arrive in order): past the end
        // by more than the corpus looks ahead (offset -10s), so both hold the same samples there.
        const held = await ask(stack.baseUrl, '/api/v1/query', {
          query: 'max(timestamp(up{job="diff"}))',
          time: String(Date.now() / 1000),
        });
        return Number((held.body.data?.result as Array<{ value: [number, string] }>)[0]?.value[1] ?? 0) >= end + 15;
      },
      60_000,
      `Prometheus sent meetr every sample up to the end (${prometheus?.output().slice(-300)})`,
    );
    await sleep(1_000);
    const start = end - 80;
    const failures: string[] = [];
    const answered = { withData: 0, empty: 0, errors: 0 };
    await forEachBounded(CORPUS, 4, async (query) => {
      const ordered = /^\s*sort(_desc)?\(/.test(query);
      const asks: Array<[string, string, Record<string, string>]> = [
        ['instant', '/api/v1/query', { query, time: String(end) }],
        ['instant', '/api/v1/query', { query, time: String(start + 41.3) }],
        ['range', '/api/v1/query_range', { query, start: String(start), end: String(end), step: '7' }],
      ];
      for (const [kind, path, params] of asks) {
        const [mine, theirs] = await Promise.all([
          ask(stack.baseUrl, path, params),
          ask(prometheus!.url, path, params),
        ]);
        const result = theirs.body.data?.result;
        if (theirs.body.status !== 'success') answered.errors++;
        else if (Array.isArray(result) && (result.length === 0 || typeof result[0] !== 'object'))
          answered[result.length === 0 ? 'empty' : 'withData']++;
        else answered.withData++;
        const differs = difference(mine, theirs, ordered && kind === 'instant');
        if (differs !== undefined)
          failures.push(`${kind} ${query} @${params.time ?? `${params.start}..${params.end}`}: ${differs}`);
      }
    });
    console.log(
      `Prometheus answered ${answered.withData} with data, ${answered.empty} empty, ${answered.errors} errors; meetr differed on ${failures.length}`,
    );
    // The comparison means something: most answers hold data, the corpus' errors are errors, and a changed value is caught.
    expect(answered.withData).toBeGreaterThan(CORPUS.length * 3 * 0.75);
    expect(answered.errors).toBeGreaterThan(40);
    const sample = {
      status: 200,
      body: { status: 'success', data: { resultType: 'vector', result: [{ metric: { a: '1' }, value: [1, '2'] }] } },
    };
    expect(
      difference(
        {
          ...sample,
          body: {
            ...sample.body,
            data: { resultType: 'vector', result: [{ metric: { a: '1' }, value: [1, '2.0001'] }] },
          },
        },
        sample,
        false,
      ),
    ).toBeDefined();
    expect(failures, `${failures.length} answers differ:\n${failures.slice(0, 60).join('\n')}`).toEqual([]);
  }, 600_000);
});
