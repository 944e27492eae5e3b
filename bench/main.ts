/**
 * `npm run bench -- [--quick] [options]`: measures a running meetr against baselines
 * in the same run. `npm run bench -- load [options]`: a steady synthetic load for
 * capacity tests against any deployment. `--help` for both.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../src/config.js';
import { createCassandraClient } from '../src/storage/cassandra/client.js';
import { CassandraPointStore } from '../src/storage/cassandra/point-store.js';
import { runLoad } from './load-generator.js';
import type { BenchContext } from './context.js';
import { benchMonth } from './scenarios/month.js';
import { benchStatements } from './scenarios/statements.js';
import { benchPrometheus } from './scenarios/prometheus.js';
import { rollerControl } from './roller-control.js';
import { formatReport, runBench } from './run-bench.js';
import { FULL, QUICK } from './sizes.js';

/** The project root: this file runs from dist-bench/bench/. */
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const HELP = `meetr bench: performance against baselines measured in the same run

  npm run bench -- [--quick] [--target URL] [--workers URL,URL] [--seed N] [--out FILE]
      Against a running stack (./meetr up). Prints a table and writes JSON.
      1. ingest: the same points written straight to Cassandra with the driver
         (tuned per-partition unlogged batches: the ceiling) and through HAProxy as
         form batches of 1,000 from concurrent clients; the ratio of the two.
      2. single-point inserts: the driver alone (single INSERTs, the same number in
         flight), through HAProxy and straight to one worker, with the CPU each
         request costs the workers, HAProxy, Cassandra and the bench client.
      5. what a worker adds per request beyond the write: meetr over an in-memory
         store against a bare node:http server, and its parts timed one by one.
      3. search: sum over a year, a month, a day and an hour of one-minute points,
         through the API and the naive way (every point fetched, added in Node).
      7. series: a year at 1h, a month at 15m, a year of days in New York and
         Kolkata, the year's first, against every point fetched and bucketed in Node.
      4. every worker's peak RSS while it takes 100,000-point batches.
      --quick      smaller sizes (under 3 minutes); the full run takes about 10
      --target     meetr's URL (default http://127.0.0.1:$MEETR_HTTP_PORT)
      --workers    the workers' own URLs (default 127.0.0.1:$PORT and up, $MEETR_WORKERS of them)
      --seed       data seed (default 1); the same seed writes the same data
      --out        JSON report (default .local/bench/bench-<date>.json)
      Cassandra and the keyspace come from the same variables the workers read.

  npm run bench -- prometheus [--target URL] [--seed N] [--out FILE]
      Beside Debian's Prometheus: one day of 100 counters (576,000 samples) as remote
      write, as OTLP exports, as form batches and straight to Cassandra (samples/s of
      each); then
      query_range of that day at a 1-minute step over the 100 series, asked of meetr
      and of a local Prometheus backfilled with the same samples (promtool tsdb
      create-blocks-from openmetrics), answers compared; each query is asked 12
      times of each (6 per meetr worker), untimed, before its timed runs, and the
      untimed runs' times are reported apart. About 4 minutes.

  npm run bench -- month [--reuse] [--target URL] [--seed N] [--out FILE]
      Thirty days of 100 counters scraped every 15 s (17,280,000 samples) remote-
      written a day at a time, sealed by the roller, then rate(x[5m]), sum by (group)
      (rate(x[5m])) and max_over_time(x[1h]) over the 30 days at a 1-hour step, asked
      of meetr and of a backfilled local Prometheus, answers compared. Give it a
      keyspace of its own (MEETR_KEYSPACE). --reuse queries what an earlier run of
      the same seed loaded. The load and the seal take most of its time.

  npm run bench -- statements [--seed N] [--out FILE]
      Cassandra's CPU per statement: each kind the ingest path and the roller send
      (samples across series and within one, roll-queue rows, catalogue rows, an
      hour's raw scan, a chunk written, a day's chunks read, rollups written, a queue
      slot read), 2,000 of each at 16 at once through meetr's store, the roller
      stopped; Cassandra's CPU time read from /proc. Against the local Cassandra.

  npm run bench -- load --target URL [--rate N] [--metrics N] [--duration S] [--batch N] [--seed N]
      A steady load: --rate points/s (default 10000) in requests of --batch points
      (default 100) over --metrics metrics (default 100) for --duration seconds
      (default 30). Reports achieved rate, errors and latency every 5 s.
`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    help: { type: 'boolean', short: 'h' },
    quick: { type: 'boolean' },
    target: { type: 'string' },
    workers: { type: 'string' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
    rate: { type: 'string', default: '10000' },
    metrics: { type: 'string', default: '100' },
    duration: { type: 'string', default: '30' },
    batch: { type: 'string', default: '100' },
    reuse: { type: 'boolean' },
  },
});

/** Runs a scenario beside a local Prometheus (on MEETR_HTTP_PORT + 1300) against the stack the environment names. */
async function withScenario<T>(scenario: (ctx: BenchContext, prometheusPort: number) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const client = createCassandraClient({ ...config, storageTimeoutMs: 30_000, applicationName: 'meetr-bench' });
  try {
    await client.connect();
    const ctx: BenchContext = {
      apiUrl: values.target ?? `http://127.0.0.1:${config.httpPort}`,
      workerUrls: [],
      telemetryUrls: [],
      store: new CassandraPointStore(client, config.keyspace, undefined, config.retention),
      seed: positive('seed', values.seed),
      progress,
      roller: rollerControl(PROJECT_ROOT, config),
    };
    return await scenario(ctx, config.httpPort + 1300);
  } finally {
    await client.shutdown();
  }
}

/** Prints a scenario's result and writes it as JSON (--out, or .local/bench/<name>-<date>.json). */
function writeResult(name: string, result: unknown): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  console.log(JSON.stringify(result, null, 2));
  const out =
    values.out ??
    join(PROJECT_ROOT, '.local', 'bench', `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`report: ${out}`);
}

function positive(name: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`--${name}: "${text}" is not a positive number`);
    process.exit(2);
  }
  return value;
}

const progress = (line: string): void => {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${line}`);
  else console.error(line);
};

try {
  if (values.help) {
    console.log(HELP);
  } else if (positionals[0] === 'load') {
    const config = loadConfig();
    const target = values.target ?? `http://127.0.0.1:${config.httpPort}`;
    const options = {
      target,
      rate: positive('rate', values.rate),
      metrics: Math.round(positive('metrics', values.metrics)),
      durationSeconds: positive('duration', values.duration),
      batch: Math.round(positive('batch', values.batch)),
      seed: positive('seed', values.seed),
    };
    console.log(
      `load: ${options.rate} points/s in batches of ${options.batch} over ${options.metrics} metrics for ${options.durationSeconds} s -> ${target}`,
    );
    const summary = await runLoad({
      ...options,
      report: (r) =>
        console.log(
          `[${r.elapsedSeconds.toFixed(0).padStart(4)} s] ${r.pointsPerSecond.toFixed(0).padStart(8)} points/s  ${String(r.requests).padStart(6)} req  ${r.errors} errors  p50 ${r.p50Ms.toFixed(1)} ms  p95 ${r.p95Ms.toFixed(1)} ms  p99 ${r.p99Ms.toFixed(1)} ms  in flight ${r.inFlight}`,
        ),
    });
    console.log(JSON.stringify(summary, null, 2));
    if (summary.errors > 0) process.exitCode = 1;
  } else if (positionals.length === 0) {
    const config = loadConfig();
    const apiUrl = values.target ?? `http://127.0.0.1:${config.httpPort}`;
    const workerUrls =
      values.workers?.split(',') ??
      Array.from({ length: config.workers }, (_, i) => `http://127.0.0.1:${config.port + i}`);
    const telemetryUrls = Array.from(
      { length: workerUrls.length },
      (_, i) => `http://127.0.0.1:${config.telemetryPort + i}`,
    );
    const client = createCassandraClient({ ...config, storageTimeoutMs: 30_000, applicationName: 'meetr-bench' });
    try {
      const haproxyConfig = join(
        isAbsolute(config.runDir) ? config.runDir : join(PROJECT_ROOT, config.runDir),
        'haproxy.cfg',
      );
      const roller = rollerControl(PROJECT_ROOT, config);
      const report = await runBench({
        apiUrl,
        workerUrls,
        telemetryUrls,
        client,
        keyspace: config.keyspace,
        retention: config.retention,
        seed: positive('seed', values.seed),
        sizes: values.quick ? QUICK : FULL,
        progress,
        haproxyConfig,
        roller,
      });
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      console.log(formatReport(report));
      const out =
        values.out ?? join(PROJECT_ROOT, '.local', 'bench', `bench-${report.date.replace(/[:.]/g, '-')}.json`);
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
      console.log(`report: ${out}`);
    } finally {
      await client.shutdown();
    }
  } else if (positionals[0] === 'prometheus') {
    const result = await withScenario((ctx, port) =>
      benchPrometheus(ctx, join(PROJECT_ROOT, '.local', 'bench', 'prometheus'), port),
    );
    writeResult('prometheus', result);
    if (
      result.remoteWriteFailures > 0 ||
      result.otlpFailures > 0 ||
      result.formBatchFailures > 0 ||
      result.queries.some((q) => !q.same)
    )
      process.exitCode = 1;
  } else if (positionals[0] === 'statements') {
    writeResult('statements', await withScenario((ctx) => benchStatements(ctx)));
  } else if (positionals[0] === 'month') {
    const result = await withScenario((ctx, port) =>
      benchMonth(ctx, join(PROJECT_ROOT, '.local', 'bench', 'month'), port, values.reuse === true),
    );
    writeResult('month', result);
    if (result.remoteWriteFailures > 0 || result.queries.some((q) => !q.same)) process.exitCode = 1;
  } else {
    console.error(`unknown command "${positionals.join(' ')}"\n\n${HELP}`);
    process.exitCode = 2;
  }
} catch (error) {
  console.error(`\nbench: ${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
