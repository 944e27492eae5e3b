/**
 * Every setting meetr reads, with its default and bounds, in three groups: the
 * stack (ports, processes, files), Cassandra (where, who, replication,
 * consistency, retention) and the limits of a worker. config.ts checks them
 * against each other.
 */
import { EnvReader } from './config-reader.js';
import { CONSISTENCY_LEVELS } from './consistency.js';
import type { Replication } from './config-reader.js';
import type { ConsistencyName } from './consistency.js';
import type { Retention } from './rollup/retention.js';

export interface Config {
  /** Port this worker listens on. */
  readonly port: number;
  readonly workers: number;
  /** Public HAProxy port. */
  readonly httpPort: number;
  /** Connections HAProxy lets one client address hold at once; more are refused. */
  readonly maxConnsPerSource: number;
  /** HAProxy answers 429 to an address with more failed authentications (401) than this in a minute. */
  readonly authFailuresPerMinute: number;
  /** HTTPS port HAProxy serves when tlsCert is set. */
  readonly httpsPort: number;
  /** PEM file with the certificate chain and its key; HAProxy also serves HTTPS when set. */
  readonly tlsCert: string | undefined;
  /** HAProxy's loopback-only stats page and Prometheus exporter. */
  readonly statsPort: number;
  /** `host` or `host:port` entries: CASSANDRA_CONTACT_POINTS, else the local nodes' (127.0.0.1:9042 ...). */
  readonly contactPoints: readonly string[];
  /** Whether CASSANDRA_CONTACT_POINTS names a cluster of the operator's: then meetr starts no local node. */
  readonly contactPointsConfigured: boolean;
  /** How many local Cassandra nodes `./meetr up` runs when no cluster is configured (MEETR_LOCAL_NODES, 1 to 3). */
  readonly localNodes: number;
  readonly localDataCenter: string;
  readonly credentials: { readonly username: string; readonly password: string } | undefined;
  readonly keyspace: string;
  readonly replication: Replication;
  /** Consistency of every read (searches, the roll queue and rollups they read, the roller's reads). */
  readonly readConsistency: ConsistencyName;
  /** Consistency of every write (points, the roll queue, rollups). */
  readonly writeConsistency: ConsistencyName;
  /** IANA zone for timestamps that carry no offset. */
  readonly defaultTimeZone: string;
  readonly maxBodyBytes: number;
  readonly maxBatch: number;
  /** Longest a request may wait on Cassandra before it is answered 503. */
  readonly storageTimeoutMs: number;
  /** Storage reads one search (or the roller) runs at once. */
  readonly storageConcurrency: number;
  /**
   * Point writes in flight for a whole worker. While all are busy, queued writes to
   * one partition merge into one batch: fewer, larger statements under load.
   */
  readonly writeConcurrency: number;
  /**
   * How far a worker's or roller's clock may be from Cassandra's (clock-watch.ts)
   * before it refuses to write or roll; the roll queue's margins include twice it.
   */
  readonly maxClockSkewMs: number;
  /** How far past the worker's clock a point's timestamp may be before it is refused (clock skew, not data). */
  readonly maxFutureMs: number;
  /**
   * Longest a request may take, from arrival to answer; past it the request gets 503
   * and its writes not yet sent are dropped. Shorter than HAProxy's server timeout
   * (30 s), so HAProxy never gives up on a request the worker is still doing.
   */
  readonly requestTimeoutMs: number;
  /** Points a worker holds in its write queue (admitted, not yet sent); a request that would pass it is shed. */
  readonly maxQueuedPoints: number;
  /** Longest the requests already queued may delay a new write request; one that would wait longer is shed. */
  readonly maxQueueDelayMs: number;
  /**
   * A write request over at least this many raw partitions (a series' hours) is a
   * large write: one runs at a time across the service (ports.ts LargeWriteLease).
   */
  readonly largeWritePartitions: number;
  /** Searches a worker runs at once. */
  readonly maxSearches: number;
  /** Searches a worker lets wait for a turn; more are shed. */
  readonly maxWaitingSearches: number;
  /** Raw partitions (metric-hours) one search may read point by point (parts not rolled up yet, sub-minute buckets); more is a 400. */
  readonly maxSearchPartitions: number;
  /** How long raw points and each rollup level are kept (MEETR_RETENTION_RAW, MEETR_RETENTION_1M, ...). */
  readonly retention: Retention;
  /** Roller processes pm2 runs (they share the work through leases in Cassandra). */
  readonly rollers: number;
  /** The first roller's /metrics and /health port (loopback); the next ones count up from it. */
  readonly rollerPort: number;
  /** Worker i (pm2's NODE_APP_INSTANCE) serves /metrics on 127.0.0.1 at this port + i (MEETR_TELEMETRY_PORT). */
  readonly telemetryPort: number;
  /** The cap on meetr's log folder and on each local Cassandra node's, MB (MEETR_LOG_MAX_MB). */
  readonly logMaxMb: number;
  /** Which of its app's processes this one is: pm2's NODE_APP_INSTANCE (0 outside pm2). */
  readonly instance: number;
  /** Buckets one series may have; more is a 400. */
  readonly maxSeriesBuckets: number;
  /** Series one selector or catalogue listing may match (Prometheus API); more is a 422. */
  readonly maxSeries: number;
  /** Samples one PromQL query may hold at once (loaded, intermediate and output); more is a 422. */
  readonly maxQuerySamples: number;
  /** PromQL queries one worker evaluates at once, and how many may wait for a turn; more are shed with 503. */
  readonly maxConcurrentQueries: number;
  readonly maxWaitingQueries: number;
  /** Samples of decoded sealed chunks a worker keeps for the PromQL reads that come back to them; 0 keeps none. */
  readonly chunkCacheSamples: number;
  /** The token file (relative to the project root unless absolute); tokens are off when unset. */
  readonly authTokensFile: string | undefined;
  /** Heap of each local Cassandra node meetr runs when no cluster is configured: `auto` (devstack/node-process.ts heapFor) or a size such as `4G`. */
  readonly cassandraHeap: string;
  /** Where the stack keeps HAProxy's rendered config and pid, pm2's home and the logs; relative to the project root unless absolute. */
  readonly runDir: string;
  /** The pm2 app name of the workers. */
  readonly appName: string;
}

/** The driver's local data center when CASSANDRA_LOCAL_DC is not set; also the local node's. */
export const DEFAULT_LOCAL_DC = 'datacenter1';

/** A local cluster has at most this many nodes: each a JVM with its own heap, on one machine. */
export const MAX_LOCAL_NODES = 3;

/** The local nodes' CQL addresses: node i listens on 127.0.0.i, every one on port 9042. */
export function localNodeContactPoints(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `127.0.0.${i + 1}:9042`);
}

const KEYSPACE_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,47}$/;
const DATA_CENTER_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** HAProxy's `timeout server` is 30 s; a request's own deadline stays 5 s inside it. */
export const MAX_REQUEST_TIMEOUT_MS = 25_000;

type StackSettings = Pick<
  Config,
  | 'port'
  | 'workers'
  | 'httpPort'
  | 'maxConnsPerSource'
  | 'authFailuresPerMinute'
  | 'httpsPort'
  | 'tlsCert'
  | 'statsPort'
  | 'rollers'
  | 'rollerPort'
  | 'telemetryPort'
  | 'instance'
  | 'logMaxMb'
  | 'authTokensFile'
  | 'cassandraHeap'
  | 'runDir'
  | 'appName'
>;
type CassandraSettings = Pick<
  Config,
  | 'localNodes'
  | 'contactPoints'
  | 'contactPointsConfigured'
  | 'localDataCenter'
  | 'credentials'
  | 'keyspace'
  | 'replication'
  | 'readConsistency'
  | 'writeConsistency'
  | 'retention'
>;

/** Ports, processes and files. */
export function stackSettings(reader: EnvReader): StackSettings {
  return {
    port: reader.integer('PORT', 9001, 1, 65535),
    workers: reader.integer('MEETR_WORKERS', 2, 1, 256),
    httpPort: reader.integer('MEETR_HTTP_PORT', 8888, 1, 65535),
    maxConnsPerSource: reader.integer('MEETR_MAX_CONNS_PER_SOURCE', 4000, 1, 8500),
    authFailuresPerMinute: reader.integer('MEETR_AUTH_FAILURES_PER_MINUTE', 30, 1, 1_000_000),
    httpsPort: reader.integer('MEETR_HTTPS_PORT', 8443, 1, 65535),
    tlsCert: reader.string('MEETR_TLS_CERT'),
    statsPort: reader.integer('MEETR_STATS_PORT', 8404, 1, 65535),
    rollers: reader.integer('MEETR_ROLLERS', 1, 0, 64),
    rollerPort: reader.integer('MEETR_ROLLER_PORT', 9400, 1, 65535),
    telemetryPort: reader.integer('MEETR_TELEMETRY_PORT', 9300, 1, 65535),
    instance: reader.integer('NODE_APP_INSTANCE', 0, 0, 65535),
    // Small enough for a small disk beside Cassandra's data; days of logs at a light load.
    logMaxMb: reader.integer('MEETR_LOG_MAX_MB', 100, 2, 1_000_000),
    authTokensFile: reader.string('MEETR_AUTH_TOKENS_FILE'),
    cassandraHeap: reader.matching(
      'MEETR_CASSANDRA_HEAP',
      'auto',
      /^(auto|\d{1,6}[mMgG])$/,
      'auto or a heap size such as 768M or 4G',
    ),
    runDir: reader.string('MEETR_RUN_DIR') ?? '.local/run',
    appName: reader.matching(
      'MEETR_APP_NAME',
      'meetr',
      /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/,
      'a pm2 app name (letter, then letters, digits, _ . -)',
    ),
  };
}

/** Where Cassandra is, who meetr is to it, and how it keeps the data. */
export function cassandraSettings(reader: EnvReader, problems: string[]): CassandraSettings {
  const contactPoints = reader.list('CASSANDRA_CONTACT_POINTS');
  const username = reader.string('CASSANDRA_USERNAME');
  const password = reader.string('CASSANDRA_PASSWORD');
  if ((username === undefined) !== (password === undefined)) {
    problems.push('CASSANDRA_USERNAME and CASSANDRA_PASSWORD must be set together');
  }

  const consistency = reader.oneOf('MEETR_CONSISTENCY', 'LOCAL_QUORUM', CONSISTENCY_LEVELS);
  const localNodes = reader.integer('MEETR_LOCAL_NODES', 1, 1, MAX_LOCAL_NODES);
  if (contactPoints.length > 0 && reader.string('MEETR_LOCAL_NODES') !== undefined && localNodes > 1) {
    problems.push(
      'MEETR_LOCAL_NODES: meetr starts local nodes only when CASSANDRA_CONTACT_POINTS is not set; set one or the other',
    );
  }
  return {
    contactPoints: contactPoints.length > 0 ? contactPoints : localNodeContactPoints(localNodes),
    contactPointsConfigured: contactPoints.length > 0,
    localNodes,
    localDataCenter: reader.matching('CASSANDRA_LOCAL_DC', DEFAULT_LOCAL_DC, DATA_CENTER_PATTERN, 'a data center name'),
    credentials: username !== undefined && password !== undefined ? { username, password } : undefined,
    keyspace: reader.matching(
      'MEETR_KEYSPACE',
      'meetr',
      KEYSPACE_PATTERN,
      'a CQL identifier (letter, then letters, digits, _; at most 48)',
    ),
    // A local cluster keeps a copy of everything on each node unless told otherwise.
    replication: reader.replication('MEETR_REPLICATION', contactPoints.length > 0 ? 1 : localNodes),
    readConsistency: reader.oneOf('MEETR_READ_CONSISTENCY', consistency, CONSISTENCY_LEVELS),
    writeConsistency: reader.oneOf('MEETR_WRITE_CONSISTENCY', consistency, CONSISTENCY_LEVELS),
    retention: reader.retention(),
  };
}

/** The bounds of a worker: bodies, batches, deadlines, queues, searches, queries. */
export function limitSettings(reader: EnvReader): Omit<Config, keyof StackSettings | keyof CassandraSettings> {
  return {
    defaultTimeZone: reader.timeZone('MEETR_DEFAULT_TZ', 'UTC'),
    maxBodyBytes: reader.integer('MEETR_MAX_BODY_BYTES', 32 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    maxBatch: reader.integer('MEETR_MAX_BATCH', 100_000, 1, 10_000_000),
    storageTimeoutMs: reader.integer('MEETR_STORAGE_TIMEOUT_MS', 3_000, 50, 600_000),
    storageConcurrency: reader.integer('MEETR_STORAGE_CONCURRENCY', 32, 1, 1024),
    writeConcurrency: reader.integer('MEETR_WRITE_CONCURRENCY', 16, 1, 1024),
    // NTP (chrony, ntpd, systemd-timesyncd) keeps a host within a few ms of true time on a LAN and
    // tens of ms over the internet: 1 s is far beyond a working NTP, and the margins it adds (2 s to
    // a write's hold, to when a slot is rolled, to the slots a search reads) cost nothing measurable.
    maxClockSkewMs: reader.integer('MEETR_MAX_CLOCK_SKEW_MS', 1_000, 1, 600_000),
    maxFutureMs: reader.integer('MEETR_MAX_FUTURE_MS', 86_400_000, 0, 31_622_400_000),
    requestTimeoutMs: reader.integer('MEETR_REQUEST_TIMEOUT_MS', 20_000, 100, MAX_REQUEST_TIMEOUT_MS),
    maxQueuedPoints: reader.integer('MEETR_MAX_QUEUED_POINTS', 1_000_000, 1, 100_000_000),
    maxQueueDelayMs: reader.integer('MEETR_MAX_QUEUE_DELAY_MS', 500, 1, 60_000),
    // 100,000 series of a point each take 13-15 s alone on this project's 2-core machine; two at
    // once, on two workers, both missed the 20 s deadline. 20,000 take some 3 s: several fit beside one.
    largeWritePartitions: reader.integer('MEETR_LARGE_WRITE_PARTITIONS', 20_000, 1, 10_000_000),
    maxSearches: reader.integer('MEETR_MAX_SEARCHES', 16, 1, 1024),
    maxWaitingSearches: reader.integer('MEETR_MAX_WAITING_SEARCHES', 64, 0, 100_000),
    maxSearchPartitions: reader.integer('MEETR_MAX_SEARCH_PARTITIONS', 20_000, 1, 10_000_000),
    maxSeriesBuckets: reader.integer('MEETR_MAX_SERIES_BUCKETS', 10_000, 1, 1_000_000),
    maxSeries: reader.integer('MEETR_MAX_SERIES', 10_000, 1, 1_000_000),
    // Prometheus' query.max-samples is 50,000,000 at about 16 bytes a sample; a sample held
    // here costs about 100 bytes at worst (two doubles loaded, an output point and its JSON),
    // so 5,000,000 keep one query near 500 MB, well inside a worker's 2 GiB heap.
    maxQuerySamples: reader.integer('MEETR_MAX_QUERY_SAMPLES', 5_000_000, 1, 100_000_000),
    maxConcurrentQueries: reader.integer('MEETR_MAX_CONCURRENT_QUERIES', 4, 1, 256),
    maxWaitingQueries: reader.integer('MEETR_MAX_WAITING_QUERIES', 16, 0, 10_000),
    // 16 bytes a sample and the chunk's own bytes (about 1.3 a sample): some 17 MB a worker, a day
    // of 100 series scraped every 15 s (576,000 samples) with room to spare.
    chunkCacheSamples: reader.integer('MEETR_CHUNK_CACHE_SAMPLES', 1_000_000, 0, 100_000_000),
  };
}
