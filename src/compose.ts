import type { Hono } from 'hono';
import type { Config } from './config.js';
import { createApp } from './http/app.js';
import { createTelemetry } from './http/telemetry.js';
import { createIngestService } from './ingest/ingest-service.js';
import { createSearchService } from './query/search-service.js';
import type { Storage } from './storage/ports.js';

export interface ComposeOptions {
  readonly config: Config;
  /** Cassandra in production (`cassandraStorage`); the in-memory store in unit tests. */
  readonly storage: Storage;
  readonly workerId: string;
  readonly isDraining?: () => boolean;
  readonly logError?: (message: string, error: unknown) => void;
}

/** Wires storage, the services and the HTTP app together: the one place that sees everything. */
export function composeApp({ config, storage, workerId, isDraining, logError }: ComposeOptions): Hono {
  return createApp({
    ingest: createIngestService({ writer: storage.writer, concurrency: config.storageConcurrency, writeConcurrency: config.writeConcurrency }),
    search: createSearchService({
      reader: storage.reader,
      concurrency: config.storageConcurrency,
      onCacheError: (error) => logError?.('could not cache a day summary', error),
    }),
    health: storage.health,
    telemetry: createTelemetry({ workerId }),
    workerId,
    defaultTimeZone: config.defaultTimeZone,
    maxBodyBytes: config.maxBodyBytes,
    maxBatch: config.maxBatch,
    maxFutureMs: config.maxFutureMs,
    ...(isDraining === undefined ? {} : { isDraining }),
    ...(logError === undefined ? {} : { logError }),
  });
}
