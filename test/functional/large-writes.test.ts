/**
 * Large writes through HAProxy: a batch over MEETR_LARGE_WRITE_PARTITIONS partitions
 * (2,000 in this stack) runs only while it holds the service's one large-write lease,
 * a lightweight transaction in Cassandra shared by every worker.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createCassandraClient, type CassandraClient } from '../../src/storage/cassandra/client.js';
import { postJson, search, type Answer } from '../support/http.js';

const stack = inject('stack');
/** MEETR_LARGE_WRITE_PARTITIONS of this stack (functional-setup.ts). */
const LARGE = 2_000;
const DAY = Date.UTC(2025, 7, 1);

let client: CassandraClient;
let keyspace: string;

beforeAll(() => {
  const config = loadConfig(stack.env);
  keyspace = config.keyspace;
  client = createCassandraClient({ ...config, storageTimeoutMs: 20_000 });
});

afterAll(async () => {
  await client.shutdown();
});

/** `series` distinct series of ten points each (within a minute): `series` partitions. */
const batch = (prefix: string, series: number) =>
  Array.from({ length: series * 10 }, (_, i) => ({
    metric_id: `${prefix}.${i % series}`,
    ts: DAY + Math.floor(i / series),
    value: i,
  }));

async function storedCount(metricId: string): Promise<number> {
  const found = await search({ metric: metricId, from: String(DAY), to: String(DAY + 60_000), aggregation: 'count' });
  expect(found.status).toBe(200);
  return (found.body as { count: number }).count;
}

const leaseHolder = async (): Promise<string | undefined> =>
  (await client.execute(`SELECT value FROM ${keyspace}.meta WHERE key = 'large_write'`)).first()?.get('value') as
    string | undefined;

function expectShed(answer: Answer): void {
  expect(answer.status).toBe(503);
  expect(answer.headers.get('retry-after')).toBe('1');
  expect(answer.body?.error).toBe('overloaded');
}

describe('large writes', () => {
  it('are shed while another holds the lease, with nothing written, while smaller ones go in; once it is given back one goes in and gives it back', async () => {
    await client.execute(`INSERT INTO ${keyspace}.meta (key, value) VALUES ('large_write', 'elsewhere') USING TTL 60`);
    const shed = await postJson(batch('large.held', LARGE));
    expectShed(shed);
    expect(shed.body?.message).toMatch(/writes 2000 partitions .*MEETR_LARGE_WRITE_PARTITIONS/);
    expect(await storedCount('large.held.0')).toBe(0);
    expect(await storedCount(`large.held.${LARGE - 1}`)).toBe(0);

    const small = await postJson(batch('large.small', LARGE - 1));
    expect(small.status).toBe(200);
    expect(await storedCount(`large.small.${LARGE - 2}`)).toBe(10);

    await client.execute(`DELETE FROM ${keyspace}.meta WHERE key = 'large_write'`);
    const taken = await postJson(batch('large.held', LARGE));
    expect(taken.status).toBe(200);
    expect(taken.body).toEqual({ inserted: LARGE * 10 });
    expect(await storedCount(`large.held.${LARGE - 1}`)).toBe(10);
    expect(await leaseHolder()).toBeUndefined();
  });

  it('of six at once, at least one goes in whole, the rest are shed with Retry-After, and the lease is free after', async () => {
    const answers = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((client) => postJson(batch(`large.six.${client}`, LARGE))),
    );
    const accepted = answers.flatMap((answer, client) => (answer.status === 200 ? [client] : []));
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    for (const answer of answers) if (answer.status !== 200) expectShed(answer);
    for (const client of accepted) expect(await storedCount(`large.six.${client}.${LARGE - 1}`)).toBe(10);
    expect(await leaseHolder()).toBeUndefined();
  });
});
