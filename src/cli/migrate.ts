/** `node dist/cli/migrate.js` — applies cql/ to the configured cluster and keyspace. */
import { ConfigError, loadConfig } from '../config.js';
import { createCassandraClient } from '../storage/cassandra/client.js';
import { migrate } from '../storage/cassandra/migrate.js';

try {
  const config = loadConfig();
  const client = createCassandraClient({ ...config, storageTimeoutMs: 30_000, applicationName: 'meetr-migrate' });
  try {
    const applied = await migrate(client, config.keyspace, config.replication);
    console.log(`[migrate] keyspace ${config.keyspace}: ${applied} schema statements applied`);
  } finally {
    await client.shutdown();
  }
} catch (error) {
  console.error(`[migrate] ${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
