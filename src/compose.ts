import type { Hono } from 'hono';
import type { Config } from './config.js';
import { createApp } from './http/app.js';
import { createTelemetry } from './http/telemetry.js';
import { createIngestService } from './ingest/ingest-service.js';
import { createSearchService } from './query/search-service.js';
import { hasConnectedHost, type CassandraClient } from './storage/cassandra/client.js';
import { CassandraPointStore } from './storage/cassandra/point-store.js';

export interface ComposeOptions {
  readonly config: Config;
  readonly client: CassandraClient;
  readonly workerId: string;
  readonly isDraining?: () => boolean;
  readonly logError?: (message: string, error: unknown) => void;
}

/** Wires the Cassandra store, the services and the HTTP app together: the one place that sees everything. */
export function composeApp({ config, client, workerId, isDraining, logError }: ComposeOptions): Hono {
  const store = new CassandraPointStore(client, config.keyspace);
  return createApp({
    ingest: createIngestService({ writer: store, concurrency: config.storageConcurrency, writeConcurrency: config.writeConcurrency }),
    search: createSearchService({
      reader: store,
      concurrency: config.storageConcurrency,
      onCacheError: (error) => logError?.('could not cache a day summary', error),
    }),
    health: { isReady: () => hasConnectedHost(client) },
    telemetry: createTelemetry({ workerId }),
    workerId,
    defaultTimeZone: config.defaultTimeZone,
    maxBodyBytes: config.maxBodyBytes,
    maxBatch: config.maxBatch,
    ...(isDraining === undefined ? {} : { isDraining }),
    ...(logError === undefined ? {} : { logError }),
  });
}
