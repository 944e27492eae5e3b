import type { Hono } from 'hono';
import type { Config } from './config.js';
import { createApp, type AppOptions } from './http/app.js';
import type { AppEnv } from './http/app-env.js';
import type { Authenticator } from './http/auth.js';
import { createTelemetry, type Telemetry } from './http/telemetry.js';
import { createIngestService } from './ingest/ingest-service.js';
import { createWriteScheduler } from './ingest/write-scheduler.js';
import { createCatalogueService } from './query/catalogue-service.js';
import { createSearchService } from './query/search-service.js';
import { DecodedChunks } from './query/decoded-chunks.js';
import { createQueryEngine } from './promql/query-engine.js';
import { clockMarginMs } from './rollup/roll-queue.js';
import { oldestWritable } from './rollup/retention.js';
import { POINTS_PER_WRITE, type Storage } from './storage/ports.js';
import type { ClockWatch } from './time/clock-watch.js';
import type { DiskReport } from './storage/disk-report.js';
import type { Log } from './log.js';
import { landingMarginMs, maxHoldMs } from './write-holds.js';

export interface ComposeOptions {
  readonly config: Config;
  /** Cassandra in production (`cassandraStorage`); the in-memory store in unit tests. */
  readonly storage: Storage;
  readonly workerId: string;
  readonly isDraining?: () => boolean;
  /** The tokens in force, when MEETR_AUTH_TOKENS_FILE turns them on. */
  readonly auth?: Authenticator;
  /** The process's log; the app makes one of its own without it. */
  readonly log?: Log;
  /** This process's clock against Cassandra's: past MEETR_MAX_CLOCK_SKEW_MS no write is taken. */
  readonly clockWatch?: ClockWatch;
  /** Free space of Cassandra's directories, for /health (disk-report.ts). */
  readonly disk?: () => DiskReport | undefined;
  /** The explorer page's files, served at GET / (http/explorer.ts). */
  readonly explorer?: AppOptions['explorer'];
  /** The stack's status, served at GET /1.0/status (http/stack-status.ts). */
  readonly stackStatus?: () => Promise<unknown>;
}

/** The composed HTTP app, and the registry its telemetry listener serves (telemetry-server.ts): the app itself has no /metrics. */
export type MeetrApp = Hono<AppEnv> & { readonly telemetry: Telemetry };

/** The services over storage, as the config bounds them. */
function composeServices(config: Config, storage: Storage) {
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
    decodedChunks: config.chunkCacheSamples > 0 ? new DecodedChunks(config.chunkCacheSamples) : undefined,
    maxHoldMs: maxHoldMs(config),
    clockMarginMs: clockMarginMs(config.maxClockSkewMs),
    retention: config.retention,
  });
  // A selection reads at most a hundred catalogue rows per series it may answer.
  const catalogue = createCatalogueService({
    reader: storage.series,
    maxSeries: config.maxSeries,
    maxScanned: 100 * config.maxSeries,
  });
  const ingest = createIngestService({
    writer: storage.writer,
    scheduler,
    largeWrites: { lease: storage.largeWrites, partitions: config.largeWritePartitions },
    pointsPerWrite: POINTS_PER_WRITE,
    landingMarginMs: landingMarginMs(config),
  });
  const engine = createQueryEngine({
    catalogue,
    search,
    maxSamples: config.maxQuerySamples,
    maxConcurrent: config.maxConcurrentQueries,
    maxWaiting: config.maxWaitingQueries,
  });
  return { scheduler, search, catalogue, ingest, engine };
}

/** Wires storage, the services and the HTTP app together: the one place that sees everything. */
export function composeApp(options: ComposeOptions): MeetrApp {
  const { config, storage, workerId, clockWatch } = options;
  const { scheduler, ...services } = composeServices(config, storage);
  const telemetry = createTelemetry({
    workerId,
    load: {
      writeQueue: () => scheduler.load,
      ...(clockWatch === undefined ? {} : { clock: () => clockWatch.reading() }),
    },
  });
  const { isDraining, auth, log, disk, explorer, stackStatus } = options;
  const app = createApp({
    ...services,
    health: storage.health,
    telemetry,
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
    ...(clockWatch === undefined ? {} : { clockWatch }),
    ...(log === undefined ? {} : { log }),
    ...(disk === undefined ? {} : { disk }),
    ...(explorer === undefined ? {} : { explorer }),
    ...(stackStatus === undefined ? {} : { stackStatus }),
  });
  return Object.assign(app, { telemetry });
}
