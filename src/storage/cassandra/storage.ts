import type { Retention } from '../../rollup/retention.js';
import type { Storage } from '../ports.js';
import { hasConnectedHost, type CassandraClient, type StatementConsistency } from './client.js';
import { readDiskSettings } from './disk-settings.js';
import { CassandraPointStore } from './point-store.js';

/** meetr's storage on Cassandra: the point store and the client's health, over one long-lived client. */
export function cassandraStorage(
  client: CassandraClient,
  keyspace: string,
  consistency?: StatementConsistency,
  retention?: Retention,
): Storage {
  const store = new CassandraPointStore(client, keyspace, consistency, retention);
  return {
    writer: store,
    largeWrites: store,
    reader: store,
    series: store,
    health: {
      isReady: () => hasConnectedHost(client),
      serverTimeMs: () => store.serverTimeMs(),
      diskSettings: () => readDiskSettings(client),
    },
  };
}
