/**
 * `node dist/cli/migrate.js` — applies cql/ to the configured cluster and keyspace,
 * creates the roller's shard rows, and copies points an earlier version stored
 * (upgrade.ts). `--finish-upgrade`, run by ./meetr up once the new workers serve,
 * copies what the earlier workers wrote meanwhile, and lists in the series
 * catalogue the metrics an earlier version stored.
 */
import { ConfigError, loadConfig } from '../config.js';
import { createLog } from '../log.js';
import { cassandraClock, createCassandraClient, statementConsistency } from '../storage/cassandra/client.js';
import { migrate } from '../storage/cassandra/migrate.js';
import { CassandraPointStore } from '../storage/cassandra/point-store.js';
import { catalogueStoredSeries, finishUpgrade, startUpgrade } from '../storage/cassandra/upgrade.js';

const log = createLog('migrate');

try {
  const config = loadConfig();
  const client = createCassandraClient({ ...config, storageTimeoutMs: 30_000, applicationName: 'meetr-migrate' });
  const store = new CassandraPointStore(client, config.keyspace, statementConsistency(config), config.retention);
  try {
    if (process.argv.includes('--finish-upgrade')) {
      // The earlier workers were drained by pm2 (at most 10 s); their last statements land within the storage timeout.
      const report = await finishUpgrade(
        client,
        store,
        config.keyspace,
        config.requestTimeoutMs + config.storageTimeoutMs,
        await cassandraClock(client),
      );
      if (report !== undefined)
        log.info(`upgrade finished: ${report.points} points written meanwhile copied into samples`);
      const catalogued = await catalogueStoredSeries(client, store, config.keyspace);
      if (catalogued !== undefined && catalogued > 0)
        log.info(`series catalogue: ${catalogued} metrics stored by an earlier version listed`);
    } else {
      const applied = await migrate(client, config.keyspace, config.replication);
      log.info(`keyspace ${config.keyspace}: ${applied} schema statements applied`);
      const report = await startUpgrade(client, store, config.keyspace, await cassandraClock(client));
      if (report !== undefined)
        log.info(
          `upgrade: ${report.points} points of ${report.partitions} (metric, day) partitions copied into samples; the roller builds their rollups`,
        );
    }
  } finally {
    await client.shutdown();
  }
} catch (error) {
  log.error(error instanceof ConfigError || error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
}
