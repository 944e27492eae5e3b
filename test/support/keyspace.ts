/**
 * A fresh keyspace for one test file, with the project's schema applied by the
 * real migrate code, dropped again when the file is done.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { createCassandraClient, type CassandraClient } from '../../src/storage/cassandra/client.js';
import { migrate } from '../../src/storage/cassandra/migrate.js';

export interface TestKeyspace {
  readonly client: CassandraClient;
  readonly keyspace: string;
  readonly config: Config;
}

/** Config for tests: the run's Cassandra, a fresh keyspace name, and any overrides. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  const target = inject('cassandra');
  return loadConfig({
    CASSANDRA_CONTACT_POINTS: target.contactPoints.join(','),
    CASSANDRA_LOCAL_DC: target.localDataCenter,
    MEETR_KEYSPACE: `t_${randomBytes(6).toString('hex')}`,
    MEETR_CONSISTENCY: 'ONE',
    ...overrides,
  });
}

/** Registers beforeAll/afterAll hooks; the returned object is filled in before the first test. */
export function useFreshKeyspace(overrides: Record<string, string> = {}): TestKeyspace {
  const holder = {} as { client: CassandraClient; keyspace: string; config: Config };
  beforeAll(async () => {
    holder.config = testConfig(overrides);
    holder.keyspace = holder.config.keyspace;
    holder.client = createCassandraClient({ ...holder.config, storageTimeoutMs: 20_000 });
    try {
      await migrate(holder.client, holder.keyspace, holder.config.replication);
    } catch (error) {
      const where = holder.config.contactPoints.join(',');
      throw new Error(
        `Cassandra at ${where} does not answer (stopped mid-run?): ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  });
  afterAll(async () => {
    if (holder.client === undefined) return;
    await holder.client.execute(`DROP KEYSPACE IF EXISTS ${holder.keyspace}`).catch(() => undefined);
    await holder.client.shutdown();
  });
  return holder;
}
