/**
 * The real Prometheus (Debian's, installed by ./meetr test) scraping the stack's
 * workers and itself, and remote-writing into meetr through HAProxy; then what meetr
 * stored is compared with what that Prometheus holds for the same series and range.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { search } from '../support/http.js';

const stack = inject('stack');
const dir = join(stack.env.MEETR_RUN_DIR!, 'prometheus');
const promPort = Number(stack.env.MEETR_HTTP_PORT) + 1202; // 20090 beside the default 18888
const promUrl = `http://127.0.0.1:${promPort}`;
let prometheus: ChildProcess | undefined;
let output = '';

beforeAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const targets = stack.workerPorts.map((port) => `'127.0.0.1:${port}'`).join(', ');
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: { scrape_interval: 1s }
scrape_configs:
  - job_name: meetr
    static_configs: [{ targets: [${targets}] }]
  - job_name: prometheus
    static_configs: [{ targets: ['127.0.0.1:${promPort}'] }]
remote_write:
  - url: ${stack.baseUrl}/api/v1/write
    queue_config: { batch_send_deadline: 1s, max_samples_per_send: 500 }
`,
  );
  prometheus = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  prometheus.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  prometheus.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await eventually(async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.status === 200, 60_000, `Prometheus is ready (${output.slice(-500)})`);
}, 90_000);

afterAll(() => {
  prometheus?.kill('SIGTERM');
});

/** Raw samples Prometheus holds for `selector` in (fromMs, toMs]: a range-vector query at toMs. */
async function prometheusSamples(selector: string, fromMs: number, toMs: number): Promise<Array<[number, number]>> {
  const params = new URLSearchParams({ query: `${selector}[${toMs - fromMs}ms]`, time: String(toMs / 1000) });
  const answer = (await (await fetch(`${promUrl}/api/v1/query?${params.toString()}`)).json()) as { data: { result: Array<{ values: Array<[number, string]> }> } };
  return (answer.data.result[0]?.values ?? []).map(([ts, value]) => [Math.round(ts * 1000), Number(value)]);
}

describe('Prometheus remote write into meetr', () => {
  it('stores what Prometheus scraped, sample for sample', async () => {
    const worker = stack.workerPorts[0]!;
    const up = `up{instance="127.0.0.1:${worker}",job="meetr"}`;
    const requests = `meetr_http_requests_total{instance="127.0.0.1:${worker}",job="meetr",method="GET",route="/metrics",status="200",worker="${worker}"}`;
    await eventually(async () => ((await search({ metric: up, from: '0', to: String(Date.now()), aggregation: 'count' })).body?.count ?? 0) >= 15, 60_000, `meetr holds samples of ${up} (${output.slice(-500)})`);

    // A range that Prometheus has sent in full: it ended a few seconds ago.
    const toMs = Date.now() - 3_000;
    const fromMs = toMs - 8_000;
    await sleep(3_000);
    for (const selector of [up, requests]) {
      const expected = await prometheusSamples(selector, fromMs, toMs);
      expect(expected.length, selector).toBeGreaterThanOrEqual(4);
      const answer = await search({ metric: selector, from: String(fromMs + 1), to: String(toMs), aggregation: 'sum', interval: '1m', tz: 'UTC' });
      expect(answer.status).toBe(200);
      expect(answer.body?.count, selector).toBe(expected.length);
      expect(answer.body?.value, selector).toBeCloseTo(expected.reduce((sum, [, value]) => sum + value, 0), 6);
      const last = await search({ metric: selector, from: String(fromMs + 1), to: String(toMs), aggregation: 'last' });
      expect(last.body?.value, selector).toBe(expected[expected.length - 1]![1]);
    }
  });

  it('sees no failed remote write in Prometheus itself', async () => {
    const query = async (q: string): Promise<number> => {
      const answer = (await (await fetch(`${promUrl}/api/v1/query?${new URLSearchParams({ query: q }).toString()}`)).json()) as { data: { result: Array<{ value: [number, string] }> } };
      return answer.data.result.reduce((sum, r) => sum + Number(r.value[1]), 0);
    };
    expect(await query('prometheus_remote_storage_samples_total')).toBeGreaterThan(0);
    expect(await query('prometheus_remote_storage_samples_failed_total')).toBe(0);
    expect(await query('prometheus_remote_storage_samples_dropped_total')).toBe(0);
  });
});
