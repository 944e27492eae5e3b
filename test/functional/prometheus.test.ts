/**
 * The real Prometheus and node exporter (Debian's, installed by ./meetr test)
 * scraping the node, the stack's workers and Prometheus itself, and remote-writing
 * into meetr through HAProxy. Then what meetr stored is compared with what that
 * Prometheus holds; `promtool query range|instant|series|labels` asked of meetr
 * and of Prometheus answer the same; and Grafana's own requests (Save & test, the
 * metric browser, a time-series panel) answer as Prometheus answers them.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { search } from '../support/http.js';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.js';

const stack = inject('stack');
const dir = join(stack.env.MEETR_RUN_DIR!, 'prometheus');
const promPort = Number(stack.env.MEETR_HTTP_PORT) + 1202; // 20090 beside the default 18888
const promUrl = `http://127.0.0.1:${promPort}`;
const exporterPort = promPort + 1;
let prometheus: RunningPrometheus | undefined;
let exporter: ChildProcess | undefined;
let startedMs = 0;
const run = promisify(execFile);

beforeAll(async () => {
  // Each worker's telemetry listener, as the README's scrape config has it.
  const targets = stack.telemetryPorts.map((port) => `'127.0.0.1:${port}'`).join(', ');
  exporter = spawn('prometheus-node-exporter', [`--web.listen-address=127.0.0.1:${exporterPort}`], { stdio: 'ignore' });
  prometheus = await startPrometheus(
    dir,
    promPort,
    `  - job_name: meetr
    static_configs: [{ targets: [${targets}] }]
  - job_name: node
    scrape_interval: 2s
    static_configs: [{ targets: ['127.0.0.1:${exporterPort}'] }]
  - job_name: prometheus
    static_configs: [{ targets: ['127.0.0.1:${promPort}'] }]`,
    `${stack.baseUrl}/api/v1/write`,
  );
  startedMs = Date.now();
}, 90_000);

afterAll(() => {
  prometheus?.stop();
  exporter?.kill('SIGTERM');
});

/** Raw samples Prometheus holds for `selector` in (fromMs, toMs]: a range-vector query at toMs. */
async function prometheusSamples(selector: string, fromMs: number, toMs: number): Promise<Array<[number, number]>> {
  const params = new URLSearchParams({ query: `${selector}[${toMs - fromMs}ms]`, time: String(toMs / 1000) });
  const answer = (await (await fetch(`${promUrl}/api/v1/query?${params.toString()}`)).json()) as {
    data: { result: Array<{ values: Array<[number, string]> }> };
  };
  return (answer.data.result[0]?.values ?? []).map(([ts, value]) => [Math.round(ts * 1000), Number(value)]);
}

describe('Prometheus remote write into meetr', () => {
  it('stores what Prometheus scraped, sample for sample', async () => {
    const worker = stack.workerPorts[0]!;
    const listener = stack.telemetryPorts[0]!;
    const up = `up{instance="127.0.0.1:${listener}",job="meetr"}`;
    // HAProxy checks /health every second: a counter that moves.
    const requests = `meetr_http_requests_total{instance="127.0.0.1:${listener}",job="meetr",method="GET",route="/health",status="200",worker="${worker}"}`;
    await eventually(
      async () =>
        ((await search({ metric: up, from: '0', to: String(Date.now()), aggregation: 'count' })).body?.count ?? 0) >=
        15,
      60_000,
      `meetr holds samples of ${up} (${prometheus?.output().slice(-500)})`,
    );

    // A range Prometheus has scraped in full: it ended a few seconds ago.
    const toMs = Date.now() - 3_000;
    const fromMs = toMs - 8_000;
    await sleep(3_000);
    for (const selector of [up, requests]) {
      const expected = await prometheusSamples(selector, fromMs, toMs);
      expect(expected.length, selector).toBeGreaterThanOrEqual(4);
      // Prometheus batches remote writes (up to 5 s) and sends one batch at a time: wait until it sent the range.
      const count = { metric: selector, from: String(fromMs + 1), to: String(toMs), aggregation: 'count' };
      await eventually(
        async () => ((await search(count)).body?.count ?? 0) >= expected.length,
        30_000,
        `meetr holds the ${expected.length} samples of ${selector}`,
      );
      const answer = await search({
        metric: selector,
        from: String(fromMs + 1),
        to: String(toMs),
        aggregation: 'sum',
        interval: '1m',
        tz: 'UTC',
      });
      expect(answer.status).toBe(200);
      expect(answer.body?.count, selector).toBe(expected.length);
      expect(answer.body?.value, selector).toBeCloseTo(
        expected.reduce((sum, [, value]) => sum + value, 0),
        6,
      );
      const last = await search({ metric: selector, from: String(fromMs + 1), to: String(toMs), aggregation: 'last' });
      expect(last.body?.value, selector).toBe(expected[expected.length - 1]![1]);
    }
  });

  it('sees no failed remote write in Prometheus itself', async () => {
    const query = async (q: string): Promise<number> => {
      const answer = (await (
        await fetch(`${promUrl}/api/v1/query?${new URLSearchParams({ query: q }).toString()}`)
      ).json()) as { data: { result: Array<{ value: [number, string] }> } };
      return answer.data.result.reduce((sum, r) => sum + Number(r.value[1]), 0);
    };
    expect(await query('prometheus_remote_storage_samples_total')).toBeGreaterThan(0);
    expect(await query('prometheus_remote_storage_samples_failed_total')).toBe(0);
    expect(await query('prometheus_remote_storage_samples_dropped_total')).toBe(0);
  });
});

/** Prometheus' own query answer (the JSON API) for the same request meetr gets. */
type PromAnswer = { status: string; data: { resultType: string; result: unknown } | unknown; error?: string };
type Series = { metric: Record<string, string>; values?: Array<[number, string]>; value?: [number, string] };

const labelsKey = (labels: Record<string, string>): string =>
  JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** Two query results (matrix, vector or scalar) as equal: the same series and timestamps, values equal to 1e-9 relative (sums may add in another order). */
function expectSameResult(actual: unknown, expected: unknown, what: string): void {
  const sameValue = (a: string, b: string, where: string): void => {
    const [x, y] = [Number(a), Number(b)];
    if (a === b || (Number.isNaN(x) && Number.isNaN(y))) return;
    expect(Math.abs(x - y), `${where}: ${a} vs ${b}`).toBeLessThanOrEqual(1e-9 * Math.max(Math.abs(x), Math.abs(y)));
  };
  if (!Array.isArray(expected) || (expected.length === 2 && typeof expected[1] === 'string')) {
    const [[ta, va], [tb, vb]] = [actual as [number, string], expected as [number, string]];
    expect(ta, what).toBe(tb);
    sameValue(va, vb, what);
    return;
  }
  const mine = new Map((actual as Series[]).map((s) => [labelsKey(s.metric), s]));
  const theirs = (expected as Series[]).map((s) => [labelsKey(s.metric), s] as const);
  expect([...mine.keys()].sort(), what).toEqual(theirs.map(([key]) => key).sort());
  for (const [key, series] of theirs) {
    const other = mine.get(key)!;
    const [points, otherPoints] =
      series.values !== undefined ? [series.values, other.values ?? []] : [[series.value!], [other.value!]];
    expect(
      otherPoints.map(([t]) => t),
      `${what} ${key}`,
    ).toEqual(points.map(([t]) => t));
    points.forEach(([t, v], i) => sameValue(otherPoints[i]![1], v, `${what} ${key} @${t}`));
  }
}

/** How many samples `server` holds in the 130 s up to `atSeconds`, over every series (count_over_time would drop names). */
async function samplesHeld(server: string, atSeconds: number): Promise<number | undefined> {
  const params = new URLSearchParams({ query: '{job=~".+"}[130s]', time: String(atSeconds) });
  const answer = (await (await fetch(`${server}/api/v1/query?${params.toString()}`)).json()) as {
    data?: { result: Array<{ values: unknown[] }> };
  };
  return answer.data?.result.reduce((sum, series) => sum + series.values.length, 0);
}

/**
 * A range of 60 s that Prometheus has scraped all of, 60 s after it started, on whole
 * seconds, once meetr holds as many samples as Prometheus in it and the minute before
 * (every lookback). Prometheus' highest sent timestamp is not enough: it is its
 * highest over shards, and a shard behind the others may still hold earlier samples.
 */
async function settledRange(): Promise<{ start: number; end: number }> {
  const wait = startedMs + 75_000 - Date.now();
  if (wait > 0) await sleep(wait);
  const end = Math.floor((Date.now() - 5_000) / 1000);
  let counts: Array<number | undefined> = [];
  await eventually(
    async () => {
      counts = await Promise.all([samplesHeld(stack.baseUrl, end), samplesHeld(promUrl, end)]);
      return counts[1] !== undefined && counts[0] === counts[1];
    },
    60_000,
    'meetr to hold every sample Prometheus holds up to the range end',
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}: meetr ${counts[0]}, Prometheus ${counts[1]}`);
  });
  return { start: end - 60, end };
}

/** What `promtool query <command> <flags> <server> [<arg>]` prints, asked of `server`. */
async function promtool(command: string, flags: string[], server: string, arg?: string): Promise<string> {
  const { stdout } = await run('promtool', ['query', command, ...flags, server, ...(arg === undefined ? [] : [arg])], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/** The same promtool command asked of meetr (through HAProxy) and of Prometheus. */
async function bothAnswer(command: string, flags: string[], arg?: string): Promise<[string, string]> {
  return Promise.all([promtool(command, flags, stack.baseUrl, arg), promtool(command, flags, promUrl, arg)]);
}

const QUERIES = [
  'up',
  'rate(node_cpu_seconds_total[1m])',
  'sum by (mode) (rate(node_cpu_seconds_total[30s]))',
  'increase(meetr_http_requests_total{route="/health"}[1m])',
  'avg_over_time(node_load1[20s])',
  'max_over_time(scrape_duration_seconds[15s]) * 1000',
  'min_over_time(node_memory_MemAvailable_bytes[1m]) / 1024 / 1024',
  'count_over_time(up[1m])',
  'sum_over_time(scrape_samples_scraped{job="node"}[30s])',
  'count by (job) (up)',
  'max without (instance) (scrape_duration_seconds)',
  'avg(node_load1) - 1',
  'min by (mode) (node_cpu_seconds_total{mode=~"idle|user|system"})',
  '{__name__=~"node_load(1|5)", job!="nope"}',
  '2 ^ 3 % 5',
];

describe('promtool against meetr and against Prometheus', () => {
  it('query range: the same series, timestamps and values for each query', async () => {
    const { start, end } = await settledRange();
    for (const query of QUERIES) {
      const [mine, theirs] = await bothAnswer(
        'range',
        ['-o', 'json', `--start=${start}`, `--end=${end}`, '--step=5s'],
        query,
      );
      const expected = JSON.parse(theirs) as Series[];
      expect(expected.length, `Prometheus has data for ${query}`).toBeGreaterThan(0);
      expectSameResult(JSON.parse(mine), expected, query);
    }
  });

  it('query instant: the same vector or scalar for each query, and the raw samples of a range selector', async () => {
    const { end } = await settledRange();
    for (const query of [...QUERIES, 'node_load1[10s]', 'up{job="node"}[30s]']) {
      const [mine, theirs] = await bothAnswer('instant', ['-o', 'json', `--time=${end - 7}`], query);
      expectSameResult(JSON.parse(mine), JSON.parse(theirs), query);
    }
  });

  it('query series and labels: the same series and label values', async () => {
    const { start, end } = await settledRange();
    const range = [`--start=${start}`, `--end=${end}`];
    for (const match of ['node_cpu_seconds_total', '{job="node",__name__=~"node_load.*"}', 'up']) {
      const [mine, theirs] = await bothAnswer('series', [...range, `--match=${match}`]);
      expect(mine.split('\n').sort(), match).toEqual(theirs.split('\n').sort());
      expect(theirs.trim(), match).not.toBe('');
    }
    for (const [name, match] of [
      ['mode', 'node_cpu_seconds_total'],
      ['job', 'up'],
      ['__name__', '{job="node",__name__=~"node_(load|cpu).*"}'],
    ] as const) {
      const [mine, theirs] = await bothAnswer('labels', [...range, `--match=${match}`], name);
      expect(mine, name).toBe(theirs);
      expect(theirs.trim(), name).not.toBe('');
    }
  });
});

/** Grafana's requests, as its Prometheus data source sends them (POST with a form body by default). */
const GRAFANA_HEADERS = {
  'User-Agent': 'Grafana/10.4.1',
  'X-Grafana-Org-Id': '1',
  Accept: 'application/json, text/plain, */*',
};

async function grafanaAsks(
  base: string,
  path: string,
  form?: Record<string, string | string[]>,
): Promise<{ status: number; body: PromAnswer }> {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(form ?? {})) for (const v of [value].flat()) params.append(name, v);
  const response =
    form === undefined
      ? await fetch(`${base}${path}`, { headers: GRAFANA_HEADERS })
      : path.includes('?')
        ? await fetch(`${base}${path}`, { headers: GRAFANA_HEADERS })
        : await fetch(`${base}${path}`, {
            method: 'POST',
            headers: { ...GRAFANA_HEADERS, 'Content-Type': 'application/x-www-form-urlencoded' },
            body: params.toString(),
          });
  return { status: response.status, body: (await response.json()) as PromAnswer };
}

describe("Grafana's requests, replayed against meetr", () => {
  it('Save & test: buildinfo, then the query 1+1', async () => {
    const info = await grafanaAsks(stack.baseUrl, '/api/v1/status/buildinfo');
    expect(info).toMatchObject({
      status: 200,
      body: { status: 'success', data: { version: expect.stringMatching(/^2\./) } },
    });
    const now = Math.floor(Date.now() / 1000);
    const test = await grafanaAsks(stack.baseUrl, '/api/v1/query', { query: '1+1', time: String(now) });
    expect(test).toEqual({
      status: 200,
      body: { status: 'success', data: { resultType: 'scalar', result: [now, '2'] } },
    });
  });

  it('the metric browser: label names, metric names, series of a metric and values of a label, as Prometheus answers', async () => {
    const { start, end } = await settledRange();
    const range = `start=${start}&end=${end}`;
    // meetr also holds what the other tiers wrote: Prometheus' names are all there. Prometheus answers
    // names from its head block whatever the range, so a series it created after `end` (prom-client's
    // nodejs_active_requests appears only while a request is in flight) is listed before remote write
    // has brought it to meetr: asked again until meetr has it too.
    await eventually(
      async () => {
        const [names, theirNames] = await Promise.all([
          grafanaAsks(stack.baseUrl, `/api/v1/label/__name__/values?${range}`),
          grafanaAsks(promUrl, `/api/v1/label/__name__/values?${range}`),
        ]);
        const mine = new Set(names.body.data as string[]);
        return names.status === 200 && (theirNames.body.data as string[]).every((name) => mine.has(name));
      },
      15_000,
      'meetr to list every metric name Prometheus lists',
    );
    const labels = await grafanaAsks(stack.baseUrl, `/api/v1/labels?${range}`);
    expect(labels.body.data as string[]).toEqual(
      expect.arrayContaining(['__name__', 'cpu', 'instance', 'job', 'mode']),
    );
    for (const [path, form] of [
      ['/api/v1/series', { 'match[]': 'node_cpu_seconds_total', start: String(start), end: String(end) }],
      [
        '/api/v1/labels',
        { 'match[]': '{job="node",__name__="node_cpu_seconds_total"}', start: String(start), end: String(end) },
      ],
    ] as const) {
      const [mine, theirs] = await Promise.all([
        grafanaAsks(stack.baseUrl, path, form),
        grafanaAsks(promUrl, path, form),
      ]);
      expect(mine.status, path).toBe(200);
      const sorted = (data: unknown): string[] =>
        (data as unknown[])
          .map((item) => JSON.stringify(typeof item === 'string' ? item : Object.entries(item as object).sort()))
          .sort();
      expect(sorted(mine.body.data), path).toEqual(sorted(theirs.body.data));
    }
    const [mine, theirs] = await Promise.all([
      grafanaAsks(stack.baseUrl, `/api/v1/label/mode/values?match[]=node_cpu_seconds_total&${range}`),
      grafanaAsks(promUrl, `/api/v1/label/mode/values?match[]=node_cpu_seconds_total&${range}`),
    ]);
    expect(mine.body).toEqual(theirs.body);
    expect((await grafanaAsks(stack.baseUrl, '/api/v1/metadata')).body).toMatchObject({ status: 'success' });
  });

  it('a time-series panel: query_range with a step-aligned range, as Prometheus answers', async () => {
    const { end } = await settledRange();
    const step = 2;
    const form = (query: string) => ({
      query,
      start: String(Math.floor((end - 60) / step) * step),
      end: String(Math.floor(end / step) * step),
      step: String(step),
    });
    for (const query of [
      'sum by (mode) (rate(node_cpu_seconds_total{job="node"}[1m]))',
      'up',
      'node_memory_MemAvailable_bytes / 1024 / 1024',
    ]) {
      const [mine, theirs] = await Promise.all([
        grafanaAsks(stack.baseUrl, '/api/v1/query_range', form(query)),
        grafanaAsks(promUrl, '/api/v1/query_range', form(query)),
      ]);
      expect(mine.status, query).toBe(200);
      expect((mine.body.data as { resultType: string }).resultType).toBe('matrix');
      expectSameResult(
        (mine.body.data as { result: unknown }).result,
        (theirs.body.data as { result: unknown }).result,
        query,
      );
    }
    const bad = await grafanaAsks(stack.baseUrl, '/api/v1/query_range', form('sum(up'));
    expect(bad).toMatchObject({ status: 400, body: { status: 'error', errorType: 'bad_data' } });
  });
});
