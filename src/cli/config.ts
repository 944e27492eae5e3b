/**
 * `node dist/cli/config.js` — validates the environment exactly as a worker will
 * and prints the values the stack scripts need as shell assignments, so
 * `./meetr` and the workers share one set of defaults. Exits 1 naming every bad variable.
 */
import { resolve } from 'node:path';
import { ConfigError, loadConfig } from '../config.js';

try {
  const config = loadConfig();
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
  };
  for (const [name, value] of Object.entries(values)) console.log(`${name}=${shellQuoted(String(value))}`);
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : String(error));
  process.exitCode = 1;
}

/** A value as one shell word, for `eval`. */
function shellQuoted(value: string): string {
  return /^[A-Za-z0-9_./:-]*$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
