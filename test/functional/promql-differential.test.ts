/**
 * PromQL by difference with the real thing: Debian's Prometheus 2.42 scrapes an
 * exporter of this tier every second (counters that reset, gauges, a classic
 * histogram, series that appear and vanish, NaN and infinities) and remote-writes
 * every sample, staleness markers included, into meetr through HAProxy. Then each
 * query of the corpus (promql-corpus.ts) is asked of both, as instant queries at
 * two times and as a range query, and the answers must agree (promql-compare.ts).
 * The samples are minutes old, so meetr answers from raw rows; promql-sealed.test.ts
 * asks the same of hours the roller has sealed.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.js';
import { ask, compareCorpus, expectAgreement } from '../support/promql-compare.js';
import { CORPUS, exposition } from './promql-corpus.js';

const stack = inject('stack');
const dir = join(stack.env.MEETR_RUN_DIR!, 'prometheus-differential');
const promPort = Number(stack.env.MEETR_HTTP_PORT) + 1302;
const exporterPort = promPort + 1;
let prometheus: RunningPrometheus | undefined;
let exporter: Server | undefined;
let scrapes = 0;

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
    const run = await compareCorpus(stack.baseUrl, prometheus!.url, CORPUS, (query) => [
      ['instant', '/api/v1/query', { query, time: String(end) }],
      ['instant', '/api/v1/query', { query, time: String(start + 41.3) }],
      ['range', '/api/v1/query_range', { query, start: String(start), end: String(end), step: '7' }],
    ]);
    expectAgreement(run, CORPUS.length * 3);
  }, 600_000);
});
