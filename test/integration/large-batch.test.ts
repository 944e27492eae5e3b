/** The largest batch a default deployment accepts: 100,000 points in one form POST; the lease large writes take. */
import { describe, expect, it } from 'vitest';
import { composeApp } from '../../src/compose.js';
import { useFreshKeyspace } from '../support/keyspace.js';
import { cassandraStorage } from '../../src/storage/cassandra/storage.js';
import { CassandraPointStore } from '../../src/storage/cassandra/point-store.js';

const ks = useFreshKeyspace();

describe('a 100,000-point form batch', () => {
  it('is stored whole and found whole', async () => {
    const app = composeApp({ config: ks.config, storage: cassandraStorage(ks.client, ks.keyspace), workerId: 'big' });
    expect(ks.config.maxBatch).toBe(100_000);
    const start = Date.parse('2024-01-01T00:00:00Z');
    // 20 metrics x 5,000 one-minute points: about 3.5 days each, so several partitions per metric.
    const metrics = Array.from({ length: 100_000 }, (_, i) => ({
      metric_id: `bulk.${i % 20}`,
      ts: new Date(start + Math.floor(i / 20) * 60_000).toISOString(),
      value: i % 7,
    }));
    const body = new URLSearchParams({ batch: 'True', metrics: JSON.stringify(metrics) }).toString();
    const response = await app.request('/1.0/metrics', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ inserted: 100_000 });

    const expectedSum = metrics.filter((m) => m.metric_id === 'bulk.3').reduce((s, m) => s + m.value, 0);
    const search = await app.request('/1.0/metrics?metric=bulk.3&from=2024-01-01&to=2024-01-31&aggregation=sum');
    expect(await search.json()).toMatchObject({ value: expectedSum, count: 5_000 });
  });
});

describe('the large-write lease in Cassandra', () => {
  it('is held by one owner at a time, given back only by its owner, and lost with its TTL', async () => {
    const store = new CassandraPointStore(ks.client, ks.keyspace);
    expect(await store.takeLargeWrite('a', 2)).toBe(true);
    expect(await store.takeLargeWrite('b', 2)).toBe(false);
    await store.releaseLargeWrite('b'); // not b's to give back
    expect(await store.takeLargeWrite('b', 2)).toBe(false);
    await store.releaseLargeWrite('a');
    expect(await store.takeLargeWrite('b', 2)).toBe(true);
    // b's worker dies holding it: nobody gives it back, its TTL ends it.
    await new Promise((resolve) => setTimeout(resolve, 2_200));
    expect(await store.takeLargeWrite('c', 60)).toBe(true);
    await store.releaseLargeWrite('c');
    expect(await store.liveRollers()).toEqual([]); // the lease's meta row is no roller
  });
});
