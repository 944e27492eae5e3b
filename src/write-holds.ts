/**
 * How long a write may take to land, from the settings that bound it: what the
 * workers queue their minutes for (ingest-service.ts), what searches read ahead
 * for (query/unrolled-minutes.ts), and how far back the roller may drop history's
 * rows (roller/history-seal.ts).
 */
import type { Config } from './config.js';
import { clockMarginMs, REUSE_MS } from './rollup/roll-queue.js';
import { STATEMENT_ATTEMPTS } from './storage/cassandra/retry-policy.js';

/**
 * How long after its request's deadline a write may still land, on the worker's clock.
 * The scheduler sends no statement after the deadline; the driver then makes at most
 * STATEMENT_ATTEMPTS attempts (retry-policy.ts), each waiting at most the connect
 * timeout for a connection (client.ts: at most MEETR_STORAGE_TIMEOUT_MS) and the read
 * timeout (MEETR_STORAGE_TIMEOUT_MS) for its answer. Worst case: the last attempt ends
 * STATEMENT_ATTEMPTS x 2 x MEETR_STORAGE_TIMEOUT_MS after the deadline (12 s by
 * default). A write that failed may still land later through Cassandra's hints: its
 * minutes are queued again hours later (ingest-service.ts). Plus the clock margin: the
 * roller reads the hold on its own clock.
 */
export function landingMarginMs(config: Pick<Config, 'storageTimeoutMs' | 'maxClockSkewMs'>): number {
  return STATEMENT_ATTEMPTS * 2 * config.storageTimeoutMs + clockMarginMs(config.maxClockSkewMs);
}

/** The longest hold a worker gives a write, from its arrival (ingest-service.ts). */
export function maxHoldMs(config: Pick<Config, 'storageTimeoutMs' | 'requestTimeoutMs' | 'maxClockSkewMs'>): number {
  return config.requestTimeoutMs + landingMarginMs(config) + REUSE_MS;
}
