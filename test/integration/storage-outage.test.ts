/**
 * Storage failures: a worker cut off from Cassandra answers 503 with Retry-After
 * promptly (no request waits out the driver's retry cycle), reports itself
 * unhealthy, and serves again by itself once Cassandra is reachable.
 * The cut is a TCP relay in front of the real node, so other test files keep theirs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeApp, type MeetrApp } from '../../src/compose.js';
import { createCassandraClient, type CassandraClient } from '../../src/storage/cassandra/client.js';
import { eventually } from '../support/eventually.js';
import { useFreshKeyspace } from '../support/keyspace.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { cassandraStorage } from '../../src/storage/cassandra/storage.js';

const ks = useFreshKeyspace();
let proxy: TcpProxy;
let client: CassandraClient;
let app: MeetrApp;

beforeAll(async () => {
  proxy = await startTcpProxy(ks.config.contactPoints[0]!);
  const config = { ...ks.config, contactPoints: [`127.0.0.1:${proxy.port}`], storageTimeoutMs: 1_000 };
  client = createCassandraClient(config);
  await client.connect();
  app = composeApp({ config, storage: cassandraStorage(client, config.keyspace), workerId: 'cut-off' });
});

afterAll(async () => {
  await client?.shutdown();
  await proxy?.close();
});

const insert = async (ts: number, value = 1): Promise<Response> =>
  app.request('/1.0/metrics', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `metric_id=outage&ts=${ts}&value=${value}`,
  });
const count = async (): Promise<Response> =>
  app.request('/1.0/metrics?metric=outage&from=1700000000&to=1800000000&aggregation=count');

describe('when Cassandra becomes unreachable', () => {
  it('answers 503 with Retry-After, promptly, and recovers without a restart', async () => {
    expect((await insert(1700000000)).status).toBe(200);

    proxy.cut();
    const started = Date.now();
    const refused = await insert(1700000001);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('x-meetr-worker')).toBe('cut-off');
    expect(await refused.json()).toMatchObject({
      error: 'storage_unavailable',
      message: expect.stringMatching(/Cassandra/),
    });

    const searched = await count();
    expect(searched.status).toBe(503);
    expect(searched.headers.get('retry-after')).toBe('1');
    await eventually(async () => (await app.request('/health')).status === 503, 10_000, '/health reports the cut');
    const metrics = await app.telemetry.registry.metrics();
    expect(metrics).toMatch(/meetr_storage_errors_total\{route="\/1.0\/metrics",worker="cut-off"\} [1-9]/);

    proxy.restore();
    await eventually(async () => (await insert(1700000002)).status === 200, 30_000, 'inserts succeed again');
    expect((await app.request('/health')).status).toBe(200);
    const after = await count();
    expect(after.status).toBe(200);
    // The point before the cut and the one after (retried until accepted: idempotent); the refused one never reached Cassandra.
    expect(await after.json()).toMatchObject({ value: 2, count: 2 });
  });
});
