/**
 * `node dist/cli/config.js` — validates the environment exactly as a worker will
 * and prints the values the stack scripts need as shell assignments, so
 * `./meetr` and the workers share one set of defaults. Exits 1 naming every bad variable.
 *
 * It also prints MEETR_CONFIG_VARIABLES, every variable the configuration reads:
 * ecosystem.config.cjs hands each of them to pm2, empty when unset, so a variable
 * left out of a later `./meetr up` returns to its default instead of keeping the
 * value pm2 remembered.
 *
 * `node dist/cli/config.js --show` (`./meetr config`) prints the effective
 * configuration instead, defaults included, secrets redacted.
 */
import { resolve } from 'node:path';
import { ConfigError, loadConfig, settingsAsSet, type Config } from '../config.js';

/** Set per process by pm2 (PORT through increment_var), never handed down from `./meetr`. */
const PER_PROCESS = new Set(['PORT', 'NODE_APP_INSTANCE']);
const SECRETS = new Set(['CASSANDRA_PASSWORD']);

try {
  const names = new Set<string>();
  const config = loadConfig(undefined, names);
  if (process.argv.includes('--show')) show(config, names);
  else printAssignments(config, names);
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : String(error));
  process.exitCode = 1;
}

function printAssignments(config: Config, names: ReadonlySet<string>): void {
  const values: Record<string, string | number> = {
    PORT: config.port,
    MEETR_WORKERS: config.workers,
    MEETR_HTTP_PORT: config.httpPort,
    MEETR_STATS_PORT: config.statsPort,
    MEETR_MAX_CONNS_PER_SOURCE: config.maxConnsPerSource,
    MEETR_AUTH_FAILURES_PER_MINUTE: config.authFailuresPerMinute,
    MEETR_HTTPS_PORT: config.httpsPort,
    MEETR_TLS_CERT: config.tlsCert === undefined ? '' : resolve(config.tlsCert),
    MEETR_MAX_BODY_BYTES: config.maxBodyBytes,
    MEETR_KEYSPACE: config.keyspace,
    MEETR_CONTACT_POINTS_CONFIGURED: config.contactPointsConfigured ? 1 : 0,
    MEETR_RUN_DIR: config.runDir,
    MEETR_APP_NAME: config.appName,
    MEETR_ROLLERS: config.rollers,
    MEETR_ROLLER_PORT: config.rollerPort,
    MEETR_TELEMETRY_PORT: config.telemetryPort,
    MEETR_LOG_MAX_MB: config.logMaxMb,
    MEETR_CONFIG_VARIABLES: [...names]
      .filter((name) => !PER_PROCESS.has(name))
      .sort()
      .join(' '),
  };
  for (const [name, value] of Object.entries(values)) console.log(`${name}=${shellQuoted(String(value))}`);
}

/** Every variable with the value in force: as set, or the default. */
function show(config: Config, names: ReadonlySet<string>): void {
  const width = Math.max(...[...names].map((name) => name.length));
  const settings = settingsAsSet(names);
  for (const name of [...names].sort()) {
    const raw = settings.get(name);
    const value = raw === undefined ? '(default)' : SECRETS.has(name) ? '(set, not shown)' : raw;
    console.log(`${name.padEnd(width)}  ${value}`);
  }
  console.log('\nin effect:');
  console.log(
    JSON.stringify(
      config,
      (key, value: unknown) => (key === 'password' ? '(not shown)' : value === undefined ? null : value),
      2,
    ),
  );
}

/** A value as one shell word, for `eval`. */
function shellQuoted(value: string): string {
  return /^[A-Za-z0-9_./:-]*$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
