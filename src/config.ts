/**
 * The one place that reads the environment. Every variable is parsed and
 * validated once, at start; a bad value stops the process with a message that
 * names every bad variable at once.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { EnvReader, type Env, type Replication } from './config-reader.js';
import { cassandraSettings, limitSettings, stackSettings, type Config } from './config-settings.js';
import { consistencyProblems, type ConsistencyName } from './consistency.js';

export type { Config, ConsistencyName, Replication };
export {
  DEFAULT_LOCAL_DC,
  localNodeContactPoints,
  MAX_LOCAL_NODES,
  MAX_REQUEST_TIMEOUT_MS,
} from './config-settings.js';

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the configuration; throws ConfigError listing every bad variable. `names` gets every variable it reads. */
export function loadConfig(env: Env = process.env, names?: Set<string>): Config {
  const problems: string[] = [];
  const reader = new EnvReader(env, problems);

  const config: Config = {
    ...stackSettings(reader),
    ...cassandraSettings(reader, problems),
    ...limitSettings(reader),
  };

  if (config.maxQueuedPoints < config.maxBatch) {
    problems.push(
      `MEETR_MAX_QUEUED_POINTS (${config.maxQueuedPoints}) is below MEETR_MAX_BATCH (${config.maxBatch}): a full batch could never be queued`,
    );
  }
  if (config.storageTimeoutMs >= config.requestTimeoutMs) {
    problems.push(
      `MEETR_REQUEST_TIMEOUT_MS (${config.requestTimeoutMs}) must be above MEETR_STORAGE_TIMEOUT_MS (${config.storageTimeoutMs})`,
    );
  }
  const levelVariable = (name: string): string => (reader.string(name) === undefined ? 'MEETR_CONSISTENCY' : name);
  problems.push(
    ...consistencyProblems(
      config.readConsistency,
      config.writeConsistency,
      config.replication,
      config.localDataCenter,
      {
        read: levelVariable('MEETR_READ_CONSISTENCY'),
        write: levelVariable('MEETR_WRITE_CONSISTENCY'),
      },
    ),
  );
  for (const point of config.contactPointsConfigured ? config.contactPoints : []) {
    if (!/^[A-Za-z0-9_.:[\]-]+$/.test(point)) {
      problems.push(`CASSANDRA_CONTACT_POINTS: "${point}" is not a host or host:port`);
    }
  }
  if (config.tlsCert !== undefined && !existsSync(resolve(config.tlsCert))) {
    problems.push(
      `MEETR_TLS_CERT: ${config.tlsCert} does not exist (a PEM file with the certificate chain and its private key)`,
    );
  }
  if (config.tlsCert !== undefined && config.httpsPort === config.httpPort)
    problems.push(`MEETR_HTTPS_PORT and MEETR_HTTP_PORT are both ${config.httpPort}`);
  problems.push(...portProblems(config));
  for (const name of reader.names) names?.add(name);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** Port ranges that would overlap: the workers', their telemetry listeners', the rollers', HAProxy's. */
function portProblems(config: Config): string[] {
  const ranges: Array<[string, number, number]> = [
    ['PORT (the workers)', config.port, config.workers],
    ["MEETR_TELEMETRY_PORT (the workers' /metrics)", config.telemetryPort, config.workers],
    ['MEETR_ROLLER_PORT', config.rollerPort, config.rollers],
    ['MEETR_HTTP_PORT', config.httpPort, 1],
    ['MEETR_STATS_PORT', config.statsPort, 1],
  ];
  const problems: string[] = [];
  ranges.forEach(([name, first, count], i) => {
    for (const [other, otherFirst, otherCount] of ranges.slice(i + 1)) {
      if (count > 0 && otherCount > 0 && first < otherFirst + otherCount && otherFirst < first + count) {
        problems.push(
          `${name} ${first}-${first + count - 1} overlaps ${other} ${otherFirst}-${otherFirst + otherCount - 1}`,
        );
      }
    }
  });
  return problems;
}

/** What each of `names` is set to in `env` (trimmed), or undefined when unset or empty: the default applies. */
export function settingsAsSet(names: Iterable<string>, env: Env = process.env): Map<string, string | undefined> {
  return new Map(
    [...names].map((name) => {
      const raw = env[name]?.trim();
      return [name, raw === '' ? undefined : raw];
    }),
  );
}

/**
 * The configuration of a process pm2 runs (a worker, a roller): a bad setting ends
 * it with the message and exit code 78 (EX_CONFIG), which pm2 shows as a start
 * failure, not a crash loop with a stack.
 */
export function loadConfigOrExit(log: { error(message: string): void }): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    log.error(error.message);
    process.exit(78);
  }
}
