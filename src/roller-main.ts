/**
 * A roller process (pm2 app `<app>-roller`, started and stopped by ./meetr): keeps
 * rollups equal to the raw points (roller/roller.ts). Serves GET /health and
 * GET /metrics (Prometheus text: its lag and its work) on 127.0.0.1 at
 * MEETR_ROLLER_PORT plus its instance number. On SIGINT/SIGTERM it finishes the
 * slot it is on, gives its leases back and exits.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { forLog } from './errors.js';
import { registerClockGauges } from './http/telemetry.js';
import { serveTelemetry, type Health } from './http/telemetry-server.js';
import { errorField } from './log.js';
import { startProcess } from './process-skeleton.js';
import { clockMarginMs, GATHER_SLOTS } from './rollup/roll-queue.js';
import type { DayRolled } from './roller/day-roll.js';
import {
  DROP_AFTER_MS,
  dropHistoryRows,
  historyState,
  historyToDrop,
  sealHistory,
  type HistoryPass,
} from './roller/history-seal.js';
import { Roller } from './roller/roller.js';
import { connectWithRetry, statementConsistency } from './storage/cassandra/client.js';
import { CassandraPointStore } from './storage/cassandra/point-store.js';
import { clockReport, startClockWatch, type ClockWatch } from './time/clock-watch.js';
import type { EpochMs } from './time/units.js';
import { maxHoldMs } from './write-holds.js';

/** How often leases are balanced and renewed; a lease lasts three times as long. */
const BALANCE_MS = 5_000;
/** Pause when there was nothing to roll. */
const IDLE_MS = 500;
/** How often a roller looks whether history is left to seal (or its rows to drop) and it holds shard 0, which does it. */
const HISTORY_CHECK_MS = 30_000;
/** Hard stop, inside pm2's kill_timeout (10 s). */
const STOP_DEADLINE_MS = 9_000;

const { config, log, onShutdown } = startProcess('roller', (settings) =>
  String(settings.rollerPort + settings.instance),
);

function telemetryFor(registry: Registry) {
  const slots = new Counter({
    name: 'meetr_roller_slots_rolled_total',
    help: 'Roll-queue slots rolled',
    registers: [registry],
  });
  const days = new Counter({
    name: 'meetr_roller_days_rolled_total',
    help: '(metric, UTC day) entries rolled',
    registers: [registry],
  });
  const minutes = new Counter({
    name: 'meetr_roller_minutes_rolled_total',
    help: 'Queued minutes rolled (their quarters recomputed from the points)',
    registers: [registry],
  });
  const points = new Counter({
    name: 'meetr_roller_points_read_total',
    help: 'Points read to recompute quarters',
    registers: [registry],
  });
  const rows = new Counter({
    name: 'meetr_roller_rows_written_total',
    help: 'Rollup rows written, all levels',
    registers: [registry],
  });
  const chunks = new Counter({
    name: 'meetr_roller_chunks_sealed_total',
    help: 'Hours sealed into chunks (first seals and reseals)',
    registers: [registry],
  });
  return {
    errors: new Counter({
      name: 'meetr_roller_errors_total',
      help: 'Rolling passes that failed (retried)',
      registers: [registry],
    }),
    slotsRolled: (count: number) => slots.inc(count),
    dayRolled: (rolled: DayRolled) => {
      days.inc();
      minutes.inc(rolled.minutes);
      points.inc(rolled.points);
      rows.inc(rolled.rows);
      chunks.inc(rolled.chunks);
    },
  };
}

/** The roller's lag per shard and how many shards it holds, on its /metrics. */
function registerRollerGauges(registry: Registry, roller: Roller): void {
  new Gauge({
    name: 'meetr_roller_lag_seconds',
    help: 'How far the oldest slot due in each shard this roller holds is behind; 0 when caught up',
    labelNames: ['shard'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [shard, lag] of roller.status.shardLags) this.set({ shard: String(shard) }, lag);
    },
  });
  new Gauge({
    name: 'meetr_roller_shards',
    help: 'Roll-queue shards this roller holds',
    registers: [registry],
    collect() {
      this.set(roller.status.shards.length);
    },
  });
}

/** GET /health: 200 while rolling within the clock bound, else 503 (stopping, or clock_skew). */
function rollerHealth(roller: Roller, watch: ClockWatch, stopping: () => boolean): () => Health {
  return () => {
    const { shards, lagSeconds, shardLags } = roller.status;
    const refusal = roller.refusal;
    const status = stopping() ? 'stopping' : refusal === undefined ? 'ok' : 'clock_skew';
    const body = {
      status,
      ...(refusal === undefined ? {} : { message: refusal }),
      shards,
      lagSeconds,
      shardLags: Object.fromEntries(shardLags),
      clock: clockReport(watch.reading()),
    };
    return { status: status === 'ok' ? 200 : 503, body };
  };
}

/** Balances leases every BALANCE_MS and rolls what is due in between, until `stopping`; a failed pass is retried. */
async function rollUntilStopped(roller: Roller, stopping: () => boolean, errors: { inc(): void }): Promise<void> {
  let balancedAt = 0;
  while (!stopping()) {
    try {
      if (Date.now() - balancedAt >= BALANCE_MS) {
        await roller.balance();
        balancedAt = Date.now();
      }
      const rolled = await roller.rollDue(() => stopping() || Date.now() - balancedAt >= BALANCE_MS);
      if (rolled === 0) await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    } catch (error) {
      errors.inc();
      log.error('rolling failed, retrying', { error: errorField(forLog(error)) });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

/**
 * Seals the hours written before sealed chunks existed (roller/history-seal.ts)
 * once this roller holds shard 0, beside its rolling, then drops their rows that
 * carry no TTL (unless raw rows are kept forever); returns once both are recorded
 * in the keyspace (by this roller or another) or the roller stops.
 */
async function sealHistoryInTurn(roller: Roller, store: CassandraPointStore, stopping: () => boolean): Promise<void> {
  const mayGoOn = (): boolean => !stopping() && roller.refusal === undefined && roller.shards.has(0);
  const pass = { store, clock: Date.now, marginMs: clockMarginMs(config.maxClockSkewMs), concurrency: 2, mayGoOn };
  const drops = { nextAtMs: 0 };
  for (;;) {
    for (let waited = 0; waited < HISTORY_CHECK_MS && !stopping(); waited += 1_000)
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    if (stopping()) return;
    try {
      const state = await historyState(store);
      if (state === 'sealed') {
        if (config.retention.rawKeep === undefined || (await dropHistoryInTurn(pass, drops))) return;
        continue;
      }
      if (state === 'waiting' || !mayGoOn()) continue;
      const started = Date.now();
      log.info('sealing the hours written before sealed chunks existed');
      const report = await sealHistory(pass);
      if (report === undefined) continue;
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      log.info(`history sealed: ${report.sealed} hours of ${report.hours} hour partitions in ${seconds} s`);
    } catch (error) {
      log.warn('sealing history or dropping its rows failed, trying again later', { error: errorField(forLog(error)) });
    }
  }
}

/**
 * Drops sealed history's rows when due (roller/history-seal.ts); true once that is
 * recorded. A pass that left hours (sealed too recently) is tried again DROP_AFTER_MS later.
 */
async function dropHistoryInTurn(pass: HistoryPass, drops: { nextAtMs: EpochMs }): Promise<boolean> {
  const sealedAtMs = await historyToDrop(pass.store);
  if (sealedAtMs === undefined) return true;
  const started = Date.now();
  if (started < Math.max(sealedAtMs + DROP_AFTER_MS, drops.nextAtMs) || !pass.mayGoOn()) return false;
  const report = await dropHistoryRows({
    ...pass,
    sealedAtMs,
    maxHoldMs: maxHoldMs(config),
    rawRetentionMs: config.retention.raw,
  });
  if (report === undefined) return false;
  drops.nextAtMs = Date.now() + DROP_AFTER_MS;
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const garbage = `nodetool garbagecollect ${config.keyspace} samples special_samples`;
  const unsealed =
    report.unsealed > 0 ? `; ${report.unsealed} hours have no chunk (rows written past the API), kept as rows` : '';
  if (report.left > 0)
    log.info(
      `history rows: ${report.dropped} hours dropped, ${report.left} not sealed long enough yet${unsealed}, in ${seconds} s`,
    );
  else
    log.info(
      `history rows dropped: ${report.dropped} hours of ${report.hours} hour partitions in ${seconds} s${unsealed}; ` +
        `\`${garbage}\` on each Cassandra node frees their disk`,
    );
  return report.left === 0;
}

async function main(): Promise<void> {
  const port = config.rollerPort + config.instance;
  const owner = `${hostname()}:${port}:${randomBytes(4).toString('hex')}`;
  const registry = new Registry();
  registry.setDefaultLabels({ roller: String(port) });
  collectDefaultMetrics({ register: registry });
  const telemetry = telemetryFor(registry);
  const client = await connectWithRetry({ ...config, applicationName: 'meetr-roller' }, (message) => log.info(message));
  const store = new CassandraPointStore(client, config.keyspace, statementConsistency(config), config.retention);
  const clock = await startClockWatch(() => store.serverTimeMs(), config.maxClockSkewMs, log);
  registerClockGauges(registry, () => clock.watch.reading());
  const roller = new Roller({
    store,
    owner,
    concurrency: Math.max(1, Math.floor(config.storageConcurrency / 2)),
    leaseMs: BALANCE_MS * 3,
    telemetry,
    clockMarginMs: clockMarginMs(config.maxClockSkewMs),
    gatherSlots: GATHER_SLOTS,
    refusal: () => clock.watch.reading().refusal,
  });
  registerRollerGauges(registry, roller);

  let stopping = false;
  const server = await serveTelemetry({ registry, port, health: rollerHealth(roller, clock.watch, () => stopping) });
  log.info(`rolling keyspace ${config.keyspace}; /metrics on 127.0.0.1:${port}`);
  process.send?.('ready');
  const done = Promise.all([
    rollUntilStopped(roller, () => stopping, telemetry.errors),
    sealHistoryInTurn(roller, store, () => stopping),
  ]);

  onShutdown((signal) => {
    stopping = true;
    log.info(`${signal}: finishing the current slot, then giving the leases back`);
    done
      .then(async () => {
        clock.stop();
        await roller.releaseAll();
        server.close();
        await client.shutdown();
        process.exit(0);
      })
      .catch(() => process.exit(1));
  }, STOP_DEADLINE_MS);
}

main().catch((error: unknown) => {
  log.error('roller failed', { error: errorField(error, true) });
  process.exit(1);
});
