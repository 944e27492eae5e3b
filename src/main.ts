/**
 * A meetr worker: the composition root. Reads config, connects to Cassandra
 * (retrying until it answers), serves HTTP, tells pm2 it is ready, and on
 * SIGINT/SIGTERM stops accepting, drains in-flight requests, closes the Cassandra
 * client and exits inside pm2's kill timeout.
 */
import { resolve } from 'node:path';
import { serve } from '@hono/node-server';
import { TokenRegistry } from './auth/tokens.js';
import { loadConfigOrExit } from './config.js';
import { composeApp } from './compose.js';
import { connectWithRetry, statementConsistency } from './storage/cassandra/client.js';
import { startClockWatch } from './time/clock-watch.js';
import { serveTelemetry } from './http/telemetry-server.js';
import { createLog, errorField, type Log } from './log.js';
import { watchDisks } from './storage/disk-report.js';
import { cassandraStorage } from './storage/cassandra/storage.js';

/**
 * After SIGINT/SIGTERM a worker fails /health but keeps serving this long before it
 * stops accepting. HAProxy (checks every 250 ms to 1 s, down after 2 failures) takes it
 * out of rotation meanwhile, and marks the worker restarted just before it up again:
 * during a rolling reload there is never a moment with no worker HAProxy can use.
 */
const LAME_DUCK_MS = 2_000;
/** Hard stop, inside pm2's kill_timeout (10 s). */
const DRAIN_DEADLINE_MS = 9_000;

/** The worker's log: named by its port once config is read. */
let log: Log = createLog('worker');
const info = (message: string): void => log.info(message);

async function main(): Promise<void> {
  const config = loadConfigOrExit(log);

  const workerId = String(config.port);
  const telemetryPort = config.telemetryPort + config.instance;
  log = createLog(`worker ${workerId}`);
  const tokens =
    config.authTokensFile === undefined
      ? undefined
      : new TokenRegistry(resolve(config.authTokensFile), (message) => log.warn(message));
  try {
    tokens?.start();
  } catch (error) {
    log.error(`MEETR_AUTH_TOKENS_FILE: ${(error as Error).message}`);
    process.exit(78);
  }
  if (tokens !== undefined) log.info(`tokens on: ${tokens.size} in ${tokens.path}`);
  const client = await connectWithRetry(config, info);
  let draining = false;
  const storage = cassandraStorage(client, config.keyspace, statementConsistency(config), config.retention);
  const clock = await startClockWatch(storage.health.serverTimeMs, config.maxClockSkewMs, {
    info: (message) => log.info(message),
    warn: (message) => log.warn(message),
  });
  const disks = storage.health.diskSettings === undefined ? undefined : watchDisks(storage.health.diskSettings);
  const app = composeApp({
    config,
    ...(disks === undefined ? {} : { disk: disks.current }),
    storage,
    clockWatch: clock.watch,
    workerId,
    isDraining: () => draining,
    ...(tokens === undefined ? {} : { auth: tokens }),
    logError: (message, error, fields) => log.error(message, { ...fields, error: errorField(error, true) }),
    logWarning: (message, fields) => log.warn(message, fields),
  });

  // Node's own backstop for a request that never finishes arriving: a little past the worker's deadline
  // (which answers first, see request-body.ts), checked every second instead of every 30.
  const requestTimeout = config.requestTimeoutMs + 2_000;
  // A refused body is read and dropped by request-body.ts for a bounded time (lingering close), not cut
  // by @hono/node-server after 500 ms or 64 MiB, which gave clients that write before they read a broken pipe.
  const server = serve(
    {
      fetch: app.fetch,
      port: config.port,
      hostname: '127.0.0.1',
      autoCleanupIncoming: false,
      serverOptions: { requestTimeout, connectionsCheckingInterval: 1_000 },
    },
    () => {
      log.info(`listening on 127.0.0.1:${config.port}, keyspace ${config.keyspace}`);
      serveTelemetry({ registry: app.telemetry.registry, port: telemetryPort }).then(
        () => {
          log.info(`/metrics on 127.0.0.1:${telemetryPort}`);
          process.send?.('ready');
        },
        (error: Error) => {
          log.error(`cannot serve /metrics on ${telemetryPort}: ${error.message}`);
          process.exit(1);
        },
      );
    },
  );
  // Longer than HAProxy keeps idle server connections, so the worker never closes one HAProxy is about to reuse.
  // Headers must arrive within the request timeout (Node requires headersTimeout <= requestTimeout).
  if ('keepAliveTimeout' in server) {
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = requestTimeout;
  }
  server.on('error', (error) => {
    log.error(`cannot listen on ${config.port}: ${error.message}`);
    process.exit(1);
  });

  const stopAccepting = (): void => {
    log.info('draining in-flight requests');
    clock.stop();
    disks?.stop();
    server.close(() => {
      client.shutdown().then(
        () => {
          log.info('drained; Cassandra client closed');
          process.exit(0);
        },
        () => process.exit(0),
      );
    });
    if ('closeIdleConnections' in server) server.closeIdleConnections();
  };
  const shutdown = (signal: string): void => {
    if (draining) return;
    draining = true;
    log.info(`${signal}: failing /health, serving ${LAME_DUCK_MS} ms more, then draining`);
    const force = setTimeout(() => {
      log.warn('drain deadline passed; exiting');
      process.exit(1);
    }, DRAIN_DEADLINE_MS);
    force.unref();
    setTimeout(() => stopAccepting(), LAME_DUCK_MS);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('message', (message) => {
    if (message === 'shutdown') shutdown('shutdown message');
  });
}

process.on('unhandledRejection', (reason) => {
  log.error('unhandled rejection', { error: errorField(reason, true) });
});

await main();
