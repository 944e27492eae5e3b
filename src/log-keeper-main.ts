/**
 * The log keeper (pm2 app `<app>-logs`, started and stopped by ./meetr): keeps
 * meetr's log folder (MEETR_RUN_DIR/logs: the workers', rollers' and HAProxy's logs,
 * its own) under MEETR_LOG_MAX_MB, looking every PASS_MS (ops/log-keeper.ts).
 * Cassandra's own logs roll over by themselves (scripts/cassandra/logback.xml).
 */
import { join, resolve } from 'node:path';
import { errorField } from './log.js';
import { keepLogs } from './ops/log-keeper.js';
import { startProcess } from './process-skeleton.js';

const PASS_MS = 250;

const { config, log, onShutdown } = startProcess('logs', () => undefined);
const dir = join(resolve(config.runDir), 'logs');
const maxBytes = config.logMaxMb * 1024 * 1024;
let failing = false;
let stopping = false;

async function pass(): Promise<void> {
  try {
    const { rotated } = await keepLogs(dir, maxBytes);
    if (rotated.length > 0) log.info(`rotated ${rotated.join(', ')}`, { cap_mb: config.logMaxMb });
    failing = false;
  } catch (error) {
    if (!failing) log.error('could not keep the log folder under its cap', { dir, error: errorField(error) });
    failing = true;
  }
  if (!stopping) setTimeout(() => void pass(), PASS_MS);
}

log.info(`keeping ${dir} under ${config.logMaxMb} MB`);
process.send?.('ready');
void pass();
onShutdown(() => {
  stopping = true;
  process.exit(0);
}, 1_000);
