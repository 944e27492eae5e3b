/**
 * A meetr worker: the composition root. Reads config, connects to Cassandra
 * (retrying until it answers), serves HTTP, tells pm2 it is ready, and on
 * SIGINT/SIGTERM stops accepting, drains in-flight requests, closes the Cassandra
 * client and exits inside pm2's kill timeout.
 */
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { TokenRegistry } from './auth/tokens.js';
import { composeApp, type MeetrApp } from './compose.js';
import type { Config } from './config.js';
import { loadExplorer } from './http/explorer.js';
import { createStackStatus } from './http/stack-status.js';
import { serveTelemetry } from './http/telemetry-server.js';
import { type Log } from './log.js';
import { startProcess } from './process-skeleton.js';
import { connectWithRetry, statementConsistency } from './storage/cassandra/client.js';
import { cassandraStorage } from './storage/cassandra/storage.js';
import { watchDisks } from './storage/disk-report.js';
import { startClockWatch } from './time/clock-watch.js';

/**
 * After SIGINT/SIGTERM a worker fails /health but keeps serving this long before it
 * stops accepting. HAProxy (checks every 250 ms to 1 s, down after 2 failures) takes it
 * out of rotation meanwhile, and marks the worker restarted just before it up again:
 * during a rolling reload there is never a moment with no worker HAProxy can use.
 */
const LAME_DUCK_MS = 2_000;
/** Hard stop, inside pm2's kill_timeout (10 s). */
const DRAIN_DEADLINE_MS = 9_000;

const { config, log, onShutdown } = startProcess('worker', (settings) => String(settings.port));

/** The token registry when MEETR_AUTH_TOKENS_FILE turns tokens on; a file it cannot read ends the worker (78). */
function startTokens(): TokenRegistry | undefined {
  if (config.authTokensFile === undefined) return undefined;
  const tokens = new TokenRegistry(resolve(config.authTokensFile), (message) => log.warn(message));
  try {
    tokens.start();
  } catch (error) {
    log.error(`MEETR_AUTH_TOKENS_FILE: ${(error as Error).message}`);
    process.exit(78);
  }
  log.info(`tokens on: ${tokens.size} in ${tokens.path}`);
  return tokens;
}

/** Serves the app on 127.0.0.1:PORT, then /metrics on its telemetry port, then tells pm2 it is ready. */
function listen(app: MeetrApp, settings: Config, logTo: Log): Server {
  const telemetryPort = settings.telemetryPort + settings.instance;
  // Node's own backstop for a request that never finishes arriving: a little past the worker's deadline
  // (which answers first, see request-body.ts), checked every second instead of every 30.
  const requestTimeout = settings.requestTimeoutMs + 2_000;
  // A refused body is read and dropped by request-body.ts for a bounded time (lingering close), not cut
  // by @hono/node-server after 500 ms or 64 MiB, which gave clients that write before they read a broken pipe.
  const server = serve(
    {
      fetch: app.fetch,
      port: settings.port,
      hostname: '127.0.0.1',
      autoCleanupIncoming: false,
      serverOptions: { requestTimeout, connectionsCheckingInterval: 1_000 },
    },
    () => {
      logTo.info(`listening on 127.0.0.1:${settings.port}, keyspace ${settings.keyspace}`);
      serveTelemetry({ registry: app.telemetry.registry, port: telemetryPort }).then(
        () => {
          logTo.info(`/metrics on 127.0.0.1:${telemetryPort}`);
          process.send?.('ready');
        },
        (error: Error) => {
          logTo.error(`cannot serve /metrics on ${telemetryPort}: ${error.message}`);
          process.exit(1);
        },
      );
    },
  ) as Server;
  // Longer than HAProxy keeps idle server connections, so the worker never closes one HAProxy is about to reuse.
  // Headers must arrive within the request timeout (Node requires headersTimeout <= requestTimeout).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = requestTimeout;
  server.on('error', (error) => {
    logTo.error(`cannot listen on ${settings.port}: ${error.message}`);
    process.exit(1);
  });
  return server;
}

async function main(): Promise<void> {
  const tokens = startTokens();
  const client = await connectWithRetry(config, (message) => log.info(message));
  let draining = false;
  const storage = cassandraStorage(client, config.keyspace, statementConsistency(config), config.retention);
  const clock = await startClockWatch(storage.health.serverTimeMs, config.maxClockSkewMs, log);
  const disks = storage.health.diskSettings === undefined ? undefined : watchDisks(storage.health.diskSettings);
  const app = composeApp({
    config,
    ...(disks === undefined ? {} : { disk: disks.current }),
    storage,
    clockWatch: clock.watch,
    workerId: String(config.port),
    isDraining: () => draining,
    ...(tokens === undefined ? {} : { auth: tokens }),
    log,
    explorer: loadExplorer(fileURLToPath(new URL('../dist-ui', import.meta.url))),
    stackStatus: createStackStatus({
      ...config,
      workerId: String(config.port),
      cassandraReady: () => storage.health.isReady(),
      ...(disks === undefined ? {} : { disk: disks.current }),
    }),
  });
  const server = listen(app, config, log);

  onShutdown((signal) => {
    draining = true;
    log.info(`${signal}: failing /health, serving ${LAME_DUCK_MS} ms more, then draining`);
    setTimeout(() => {
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
      server.closeIdleConnections();
    }, LAME_DUCK_MS);
  }, DRAIN_DEADLINE_MS);
}

await main();
