import type { Hono } from 'hono';
import type { Config } from './config.js';
import { createApp } from './http/app.js';
import type { AppEnv } from './http/app-env.js';
import type { Authenticator } from './http/auth.js';
import { createTelemetry } from './http/telemetry.js';
import { createIngestService } from './ingest/ingest-service.js';
import { createWriteScheduler } from './ingest/write-scheduler.js';
import { createCatalogueService } from './query/catalogue-service.js';
import { createSearchService } from './query/search-service.js';
import { createQueryEngine } from './promql/query-engine.js';
import { CLOCK_MARGIN_MS, REUSE_MS } from './rollup/roll-queue.js';
import { oldestWritable } from './rollup/retention.js';
import type { Storage } from './storage/ports.js';

export interface ComposeOptions {
  readonly config: Config;
  /** Cassandra in production (`cassandraStorage`); the in-memory store in unit tests. */
  readonly storage: Storage;
  readonly workerId: string;
  readonly isDraining?: () => boolean;
  /** The tokens in force, when MEETR_AUTH_TOKENS_FILE turns them on. */
  readonly auth?: Authenticator;
  readonly logError?: (message: string, error: unknown) => void;
}

/** The composed HTTP app. */
export type MeetrApp = Hono<AppEnv>;

/** Points per single-partition write: one unlogged batch of about 4 KiB, under Cassandra's 5 KiB batch warning. */
const POINTS_PER_WRITE = 100;

/** A write sent before its request's deadline lands within the storage timeout, or not at all; plus clock margin. */
export function landingMarginMs(config: Pick<Config, 'storageTimeoutMs'>): number {
  return config.storageTimeoutMs + CLOCK_MARGIN_MS;
}

/** The longest hold a worker gives a write, from its arrival (ingest-service.ts). */
export function maxHoldMs(config: Pick<Config, 'storageTimeoutMs' | 'requestTimeoutMs'>): number {
  return config.requestTimeoutMs + landingMarginMs(config) + REUSE_MS;
}

/** Wires storage, the services and the HTTP app together: the one place that sees everything. */
export function composeApp({ config, storage, workerId, isDraining, auth, logError }: ComposeOptions): MeetrApp {
  const scheduler = createWriteScheduler({
    writer: storage.writer,
    concurrency: config.writeConcurrency,
    pointsPerWrite: POINTS_PER_WRITE,
    maxQueuedPoints: config.maxQueuedPoints,
    maxQueueDelayMs: config.maxQueueDelayMs,
  });
  const search = createSearchService({
    reader: storage.reader,
    concurrency: config.storageConcurrency,
    maxSearches: config.maxSearches,
    maxWaitingSearches: config.maxWaitingSearches,
    maxPartitions: config.maxSearchPartitions,
    maxHoldMs: maxHoldMs(config),
  });
  // A selection reads at most a hundred catalogue rows per series it may answer.
  const catalogue = createCatalogueService({ reader: storage.series, maxSeries: config.maxSeries, maxScanned: 100 * config.maxSeries });
  return createApp({
    ingest: createIngestService({
      writer: storage.writer,
      scheduler,
      pointsPerWrite: POINTS_PER_WRITE,
      // A write sent before the deadline lands within the storage timeout, or not at all; plus clock margin.
      landingMarginMs: landingMarginMs(config),
    }),
    search,
    catalogue,
    engine: createQueryEngine({ catalogue, search, maxSamples: config.maxQuerySamples, maxConcurrent: config.maxConcurrentQueries, maxWaiting: config.maxWaitingQueries }),
    health: storage.health,
    telemetry: createTelemetry({ workerId, load: { writeQueue: () => scheduler.load } }),
    workerId,
    defaultTimeZone: config.defaultTimeZone,
    maxSeriesBuckets: config.maxSeriesBuckets,
    maxBodyBytes: config.maxBodyBytes,
    maxBatch: config.maxBatch,
    maxFutureMs: config.maxFutureMs,
    oldestWritable: (nowMs) => oldestWritable(config.retention, nowMs),
    requestTimeoutMs: config.requestTimeoutMs,
    ...(isDraining === undefined ? {} : { isDraining }),
    ...(auth === undefined ? {} : { auth }),
    ...(logError === undefined ? {} : { logError }),
  });
}
