/**
 * The one place that reads the environment. Every variable is parsed and
 * validated once, at start; a bad value stops the process with a message that
 * names every bad variable at once.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { LEVEL_NAMES } from './rollup/levels.js';
import { parseRetention, type Retention } from './rollup/retention.js';

export const CONSISTENCY_LEVELS = [
  'ANY',
  'ONE',
  'TWO',
  'THREE',
  'QUORUM',
  'ALL',
  'LOCAL_QUORUM',
  'EACH_QUORUM',
  'LOCAL_ONE',
] as const;
export type ConsistencyName = (typeof CONSISTENCY_LEVELS)[number];

/** Keyspace replication, rendered to CQL only by the storage layer. */
export type Replication =
  | { readonly class: 'SimpleStrategy'; readonly replicationFactor: number }
  | { readonly class: 'NetworkTopologyStrategy'; readonly dataCenters: Readonly<Record<string, number>> };

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
  /** Buckets one series may have; more is a 400. */
  readonly maxSeriesBuckets: number;
  /** Series one selector or catalogue listing may match (Prometheus API); more is a 422. */
  readonly maxSeries: number;
  /** Samples one PromQL query may hold at once (loaded, intermediate and output); more is a 422. */
  readonly maxQuerySamples: number;
  /** PromQL queries one worker evaluates at once, and how many may wait for a turn; more are shed with 503. */
  readonly maxConcurrentQueries: number;
  readonly maxWaitingQueries: number;
  /** The token file (relative to the project root unless absolute); tokens are off when unset. */
  readonly authTokensFile: string | undefined;
  /** Heap of the local Cassandra node meetr runs when no cluster is configured, e.g. `1G`. */
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

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const KEYSPACE_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,47}$/;
const DATA_CENTER_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** Reads and validates the configuration; throws ConfigError listing every bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const reader = new EnvReader(env, problems);

  const contactPoints = reader.list('CASSANDRA_CONTACT_POINTS');
  const username = reader.string('CASSANDRA_USERNAME');
  const password = reader.string('CASSANDRA_PASSWORD');
  if ((username === undefined) !== (password === undefined)) {
    problems.push('CASSANDRA_USERNAME and CASSANDRA_PASSWORD must be set together');
  }

  const consistency = reader.oneOf('MEETR_CONSISTENCY', 'LOCAL_QUORUM', CONSISTENCY_LEVELS);
  const localNodes = reader.integer('MEETR_LOCAL_NODES', 1, 1, MAX_LOCAL_NODES);
  if (contactPoints.length > 0 && reader.string('MEETR_LOCAL_NODES') !== undefined && localNodes > 1) {
    problems.push('MEETR_LOCAL_NODES: meetr starts local nodes only when CASSANDRA_CONTACT_POINTS is not set; set one or the other');
  }
  const config: Config = {
    port: reader.integer('PORT', 9001, 1, 65535),
    workers: reader.integer('MEETR_WORKERS', 2, 1, 256),
    httpPort: reader.integer('MEETR_HTTP_PORT', 8888, 1, 65535),
    maxConnsPerSource: reader.integer('MEETR_MAX_CONNS_PER_SOURCE', 4000, 1, 8500),
    authFailuresPerMinute: reader.integer('MEETR_AUTH_FAILURES_PER_MINUTE', 30, 1, 1_000_000),
    httpsPort: reader.integer('MEETR_HTTPS_PORT', 8443, 1, 65535),
    tlsCert: reader.string('MEETR_TLS_CERT'),
    statsPort: reader.integer('MEETR_STATS_PORT', 8404, 1, 65535),
    contactPoints: contactPoints.length > 0 ? contactPoints : localNodeContactPoints(localNodes),
    contactPointsConfigured: contactPoints.length > 0,
    localNodes,
    localDataCenter: reader.matching('CASSANDRA_LOCAL_DC', DEFAULT_LOCAL_DC, DATA_CENTER_PATTERN, 'a data center name'),
    credentials: username !== undefined && password !== undefined ? { username, password } : undefined,
    keyspace: reader.matching('MEETR_KEYSPACE', 'meetr', KEYSPACE_PATTERN, 'a CQL identifier (letter, then letters, digits, _; at most 48)'),
    // A local cluster keeps a copy of everything on each node unless told otherwise.
    replication: reader.replication('MEETR_REPLICATION', contactPoints.length > 0 ? 1 : localNodes),
    readConsistency: reader.oneOf('MEETR_READ_CONSISTENCY', consistency, CONSISTENCY_LEVELS),
    writeConsistency: reader.oneOf('MEETR_WRITE_CONSISTENCY', consistency, CONSISTENCY_LEVELS),
    defaultTimeZone: reader.timeZone('MEETR_DEFAULT_TZ', 'UTC'),
    maxBodyBytes: reader.integer('MEETR_MAX_BODY_BYTES', 32 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    maxBatch: reader.integer('MEETR_MAX_BATCH', 100_000, 1, 10_000_000),
    storageTimeoutMs: reader.integer('MEETR_STORAGE_TIMEOUT_MS', 3_000, 50, 600_000),
    storageConcurrency: reader.integer('MEETR_STORAGE_CONCURRENCY', 32, 1, 1024),
    writeConcurrency: reader.integer('MEETR_WRITE_CONCURRENCY', 16, 1, 1024),
    maxFutureMs: reader.integer('MEETR_MAX_FUTURE_MS', 86_400_000, 0, 31_622_400_000),
    requestTimeoutMs: reader.integer('MEETR_REQUEST_TIMEOUT_MS', 20_000, 100, MAX_REQUEST_TIMEOUT_MS),
    maxQueuedPoints: reader.integer('MEETR_MAX_QUEUED_POINTS', 1_000_000, 1, 100_000_000),
    maxQueueDelayMs: reader.integer('MEETR_MAX_QUEUE_DELAY_MS', 500, 1, 60_000),
    maxSearches: reader.integer('MEETR_MAX_SEARCHES', 16, 1, 1024),
    maxWaitingSearches: reader.integer('MEETR_MAX_WAITING_SEARCHES', 64, 0, 100_000),
    maxSearchPartitions: reader.integer('MEETR_MAX_SEARCH_PARTITIONS', 20_000, 1, 10_000_000),
    retention: reader.retention(),
    rollers: reader.integer('MEETR_ROLLERS', 1, 0, 64),
    rollerPort: reader.integer('MEETR_ROLLER_PORT', 9400, 1, 65535),
    maxSeriesBuckets: reader.integer('MEETR_MAX_SERIES_BUCKETS', 10_000, 1, 1_000_000),
    maxSeries: reader.integer('MEETR_MAX_SERIES', 10_000, 1, 1_000_000),
    // Prometheus' query.max-samples is 50,000,000 at about 16 bytes a sample; a sample held
    // here costs about 100 bytes at worst (two doubles loaded, an output point and its JSON),
    // so 5,000,000 keep one query near 500 MB, well inside a worker's 2 GiB heap.
    maxQuerySamples: reader.integer('MEETR_MAX_QUERY_SAMPLES', 5_000_000, 1, 100_000_000),
    maxConcurrentQueries: reader.integer('MEETR_MAX_CONCURRENT_QUERIES', 4, 1, 256),
    maxWaitingQueries: reader.integer('MEETR_MAX_WAITING_QUERIES', 16, 0, 10_000),
    authTokensFile: reader.string('MEETR_AUTH_TOKENS_FILE'),
    cassandraHeap: reader.matching('MEETR_CASSANDRA_HEAP', '1G', /^\d{1,6}[mMgG]$/, 'a heap size such as 768M or 1G'),
    runDir: reader.string('MEETR_RUN_DIR') ?? '.local/run',
    appName: reader.matching('MEETR_APP_NAME', 'meetr', /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'a pm2 app name (letter, then letters, digits, _ . -)'),
  };

  if (config.maxQueuedPoints < config.maxBatch) {
    problems.push(`MEETR_MAX_QUEUED_POINTS (${config.maxQueuedPoints}) is below MEETR_MAX_BATCH (${config.maxBatch}): a full batch could never be queued`);
  }
  if (config.storageTimeoutMs >= config.requestTimeoutMs) {
    problems.push(`MEETR_REQUEST_TIMEOUT_MS (${config.requestTimeoutMs}) must be above MEETR_STORAGE_TIMEOUT_MS (${config.storageTimeoutMs})`);
  }
  const levelVariable = (name: string): string => (reader.string(name) === undefined ? 'MEETR_CONSISTENCY' : name);
  problems.push(
    ...consistencyProblems(config.readConsistency, config.writeConsistency, config.replication, config.localDataCenter, {
      read: levelVariable('MEETR_READ_CONSISTENCY'),
      write: levelVariable('MEETR_WRITE_CONSISTENCY'),
    }),
  );
  for (const point of contactPoints) {
    if (!/^[A-Za-z0-9_.:[\]-]+$/.test(point)) {
      problems.push(`CASSANDRA_CONTACT_POINTS: "${point}" is not a host or host:port`);
    }
  }
  if (config.tlsCert !== undefined && !existsSync(resolve(config.tlsCert))) {
    problems.push(`MEETR_TLS_CERT: ${config.tlsCert} does not exist (a PEM file with the certificate chain and its private key)`);
  }
  if (config.tlsCert !== undefined && config.httpsPort === config.httpPort) problems.push(`MEETR_HTTPS_PORT and MEETR_HTTP_PORT are both ${config.httpPort}`);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * The configuration of a process pm2 runs (a worker, a roller): a bad setting ends
 * it with the message and exit code 78 (EX_CONFIG), which pm2 shows as a start
 * failure, not a crash loop with a stack.
 */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(78);
  }
}

/** HAProxy's `timeout server` is 30 s; a request's own deadline stays 5 s inside it. */
export const MAX_REQUEST_TIMEOUT_MS = 25_000;

/**
 * Why reads at `read` and writes at `write` would not keep meetr's promise on
 * `replication`: ANY (a write no replica may hold, a read Cassandra refuses), a
 * level the keyspace has too few replicas for, or levels whose replica sets need
 * not overlap, so a search or the roller could miss an acknowledged point. Empty
 * when they keep it.
 */
export function consistencyProblems(
  read: ConsistencyName,
  write: ConsistencyName,
  replication: Replication,
  localDataCenter: string,
  variables = { read: 'MEETR_READ_CONSISTENCY', write: 'MEETR_WRITE_CONSISTENCY' },
): string[] {
  const problems = new Set<string>(); // MEETR_CONSISTENCY may stand for both levels: say each problem once
  if (read === 'ANY') problems.add(`${variables.read}: ANY is not a level meetr reads at (Cassandra refuses reads at ANY); use ONE or stronger`);
  if (write === 'ANY' && variables.write !== variables.read) problems.add(`${variables.write}: ANY acknowledges writes no replica holds; use ONE or stronger`);
  if (problems.size > 0) return [...problems];
  const factors = replication.class === 'SimpleStrategy' ? [replication.replicationFactor] : Object.values(replication.dataCenters);
  const total = factors.reduce((a, b) => a + b, 0);
  const local = replication.class === 'SimpleStrategy' ? total : (replication.dataCenters[localDataCenter] ?? 0);
  if (local === 0) return [`MEETR_REPLICATION: no replicas in the local data center ${localDataCenter} (CASSANDRA_LOCAL_DC)`];
  const [r, w] = [replicasOf(read, factors, total, local), replicasOf(write, factors, total, local)];
  for (const [name, level, needs] of [[variables.read, read, r], [variables.write, write, w]] as const) {
    if (needs.inLocal > local || needs.anywhere > total) {
      problems.add(`${name}: ${level} needs more replicas than MEETR_REPLICATION gives (${total} in all, ${local} in ${localDataCenter})`);
    }
  }
  if (problems.size > 0) return [...problems];
  // Two replica sets surely share a replica if together they hold more than all replicas, or more than the local DC's.
  if (r.anywhere + w.anywhere <= total && r.inLocal + w.inLocal <= local) {
    problems.add(
      `${variables.read} ${read} and ${variables.write} ${write} need not reach a common replica with replication ${total} ` +
        `(${local} in ${localDataCenter}): a search could miss an acknowledged point; choose levels whose replicas add up to more than the replicas (e.g. QUORUM and QUORUM)`,
    );
  }
  return [...problems];
}

/**
 * How many replicas a level touches at least: anywhere, and surely within the local
 * data center (`factors`: replicas per data center, `total` of them, `local` in the local one).
 */
function replicasOf(level: ConsistencyName, factors: readonly number[], total: number, local: number): { anywhere: number; inLocal: number } {
  const quorum = (n: number): number => Math.floor(n / 2) + 1;
  const remote = total - local;
  const some = (n: number): { anywhere: number; inLocal: number } => ({ anywhere: n, inLocal: Math.max(0, n - remote) });
  switch (level) {
    case 'ANY':
      return { anywhere: 0, inLocal: 0 };
    case 'ONE':
      return some(1);
    case 'TWO':
      return some(2);
    case 'THREE':
      return some(3);
    case 'QUORUM':
      return some(quorum(total));
    case 'ALL':
      return { anywhere: total, inLocal: local };
    case 'LOCAL_ONE':
      return { anywhere: 1, inLocal: 1 };
    case 'LOCAL_QUORUM':
      return { anywhere: quorum(local), inLocal: quorum(local) };
    case 'EACH_QUORUM':
      return { anywhere: factors.reduce((sum, n) => sum + quorum(n), 0), inLocal: quorum(local) };
  }
}

/** Reads typed values out of the environment, collecting problems instead of throwing. */
class EnvReader {
  constructor(
    private readonly env: Env,
    private readonly problems: string[],
  ) {}

  string(name: string): string | undefined {
    const raw = this.env[name];
    return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  }

  list(name: string): string[] {
    const raw = this.string(name);
    return raw === undefined ? [] : raw.split(',').map((part) => part.trim()).filter((part) => part !== '');
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      this.problems.push(`${name}: "${raw}" is not a whole number from ${min} to ${max}`);
      return fallback;
    }
    return Number(raw);
  }

  matching(name: string, fallback: string, pattern: RegExp, what: string): string {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if (!pattern.test(raw)) {
      this.problems.push(`${name}: "${raw}" is not ${what}`);
      return fallback;
    }
    return raw;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const raw = this.string(name)?.toUpperCase();
    if (raw === undefined) return fallback;
    const found = allowed.find((value) => value === raw);
    if (found === undefined) {
      this.problems.push(`${name}: "${raw}" is not one of ${allowed.join(', ')}`);
      return fallback;
    }
    return found;
  }

  /** MEETR_RETENTION_RAW and one per rollup level, each at least as long as the finer ones. */
  retention(): Retention {
    const read = (name: string): number | undefined => {
      const text = this.string(name);
      if (text === undefined) return undefined;
      const ms = parseRetention(text);
      if (ms === null) this.problems.push(`${name}: "${text}" is not a retention (a number and m, h, d, w or y, such as 30d; or forever)`);
      return ms ?? undefined;
    };
    const raw = read('MEETR_RETENTION_RAW');
    const levels = Object.fromEntries(LEVEL_NAMES.map((name) => [name, read(`MEETR_RETENTION_${name.toUpperCase()}`)])) as Retention['levels'];
    let finer: { name: string; ms: number | undefined } = { name: 'MEETR_RETENTION_RAW', ms: raw };
    for (const name of LEVEL_NAMES) {
      const ms = levels[name];
      const variable = `MEETR_RETENTION_${name.toUpperCase()}`;
      if (finer.ms === undefined && ms !== undefined) this.problems.push(`${variable} (${ms / 86_400_000} days) is shorter than ${finer.name} (forever): each level is computed from the finer one`);
      else if (finer.ms !== undefined && ms !== undefined && ms < finer.ms) this.problems.push(`${variable} is shorter than ${finer.name}: each level is computed from the finer one`);
      finer = { name: variable, ms };
    }
    return { raw, levels };
  }

  timeZone(name: string, fallback: string): string {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: raw });
      return raw;
    } catch {
      this.problems.push(`${name}: "${raw}" is not an IANA time zone (e.g. UTC, Europe/Paris, Asia/Kolkata)`);
      return fallback;
    }
  }

  /**
   * `3` (SimpleStrategy with that factor) or `dc1:3,dc2:2` (NetworkTopologyStrategy).
   * Default: SimpleStrategy with `defaultFactor` (1 for a configured cluster — right
   * for one node, wrong for a cluster — and the node count for local nodes).
   */
  replication(name: string, defaultFactor: number): Replication {
    const fallback: Replication = { class: 'SimpleStrategy', replicationFactor: defaultFactor };
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if (/^\d{1,2}$/.test(raw) && Number(raw) >= 1) {
      return { class: 'SimpleStrategy', replicationFactor: Number(raw) };
    }
    const dataCenters: Record<string, number> = {};
    for (const part of raw.split(',')) {
      const match = /^\s*([A-Za-z0-9_.-]{1,64})\s*:\s*(\d{1,2})\s*$/.exec(part);
      if (match === null || Number(match[2]) < 1) {
        this.problems.push(`${name}: "${raw}" is neither a replication factor (e.g. 3) nor data centers with factors (e.g. dc1:3,dc2:3)`);
        return fallback;
      }
      dataCenters[match[1] as string] = Number(match[2]);
    }
    return { class: 'NetworkTopologyStrategy', dataCenters };
  }
}
