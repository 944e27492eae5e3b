/**
 * The benchmark and the load generator on tiny sizes against the functional stack,
 * so they cannot silently rot. Asserts that every figure is produced and sane,
 * never how fast anything is.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { runLoad } from '../../bench/load-generator.js';
import { rollerControl } from '../../bench/roller-control.js';
import { formatReport, runBench } from '../../bench/run-bench.js';
import type { BenchSizes } from '../../bench/sizes.js';
import { createCassandraClient } from '../../src/storage/cassandra/client.js';
import { loadConfig } from '../../src/config.js';
import { PROJECT_ROOT } from '../../src/devstack/local-nodes.js';

const stack = inject('stack');
const run = promisify(execFile);

const TINY: BenchSizes = {
  ingestPoints: 2_000,
  ingestMetrics: 10,
  ingestRounds: 2,
  rollingPoints: 0,
  apiBatch: 100,
  apiClients: 2,
  ceilingGrid: [{ pointsPerBatch: 50, concurrency: 8 }],
  singleSeconds: 1,
  singleClients: 2,
  overheadRequests: 300,
  searchStepMs: 6 * 3_600_000,
  denseMinutes: 1,
  searchRepetitions: 2,
  naiveRepetitions: 1,
  memoryBatches: 1,
  memoryBatchPoints: 5_000,
  overloadCapacitySeconds: 1,
  overloadSeconds: 2,
};

const positive = expect.any(Number);
const isPositive = (value: number): boolean => Number.isFinite(value) && value > 0;

describe('npm run bench', () => {
  it('prints its usage', async () => {
    const { stdout } = await run('npm', ['run', '--silent', 'bench', '--', '--help'], { cwd: PROJECT_ROOT });
    for (const option of [
      '--quick',
      '--target',
      '--seed',
      '--out',
      'load',
      '--rate',
      '--metrics',
      '--duration',
      '--batch',
    ])
      expect(stdout).toContain(option);
  });

  it('measures every figure on tiny sizes', async () => {
    const config = loadConfig(stack.env);
    const client = createCassandraClient({ ...config, storageTimeoutMs: 20_000 });
    const lines: string[] = [];
    try {
      const report = await runBench({
        apiUrl: stack.baseUrl,
        workerUrls: stack.workerPorts.map((port) => `http://127.0.0.1:${port}`),
        telemetryUrls: stack.telemetryPorts.map((port) => `http://127.0.0.1:${port}`),
        client,
        keyspace: config.keyspace,
        retention: config.retention,
        seed: 7,
        sizes: TINY,
        progress: (line) => lines.push(line),
        haproxyConfig: join(stack.env.MEETR_RUN_DIR!, 'haproxy.cfg'),
        roller: rollerControl(PROJECT_ROOT, config, stack.env),
      });
      expect(report.ingest).toMatchObject({ points: 2_000, rounds: 2, api: { errors: 0, batch: 100 } });
      expect(report.ingest.ceiling.rounds).toHaveLength(2);
      expect(report.ingest.api.rounds).toHaveLength(2);
      expect(report.ingest.roller?.stoppedRounds).toHaveLength(2);
      const lagRounds = report.ingest.roller?.lagRounds ?? [];
      expect(lagRounds).toHaveLength(2);
      for (const lag of lagRounds) expect(lag.maxSeconds).toBeGreaterThanOrEqual(lag.atStartSeconds);
      expect(report.ingest.roller?.lagMaxSeconds).toBe(Math.max(...lagRounds.map((lag) => lag.maxSeconds)));
      expect(report.year).toMatchObject({ points: 1460, justLoadedMs: positive, rolledAfterMs: positive });
      expect(report.dense).toMatchObject({
        points: 60_000,
        minutes: 1,
        sum: { p50Ms: positive },
        minuteSeries: { buckets: 1 },
        naive: { p50Ms: positive },
      });
      for (const rate of [
        report.ingest.ceiling.pointsPerSecond,
        report.ingest.api.pointsPerSecond,
        report.ingest.ratio,
      ])
        expect(isPositive(rate)).toBe(true);

      const { throughHaproxy, straightToWorker, driver } = report.singlePoints;
      for (const single of [throughHaproxy, straightToWorker, driver]) {
        expect(single).toMatchObject({ errors: 0, requestsPerSecond: positive, p50Ms: positive, p99Ms: positive });
        expect(single.p99Ms).toBeGreaterThanOrEqual(single.p50Ms);
        // The local node and this stack's HAProxy run on this machine, so every share of CPU is found.
        for (const share of [single.cpuPerRequest.cassandraUs, single.cpuPerRequest.clientUs])
          expect(share).toBeGreaterThan(0);
      }
      for (const viaApi of [throughHaproxy, straightToWorker])
        expect(viaApi.cpuPerRequest.workersUs).toBeGreaterThan(0);
      expect(throughHaproxy.cpuPerRequest.haproxyUs).toBeGreaterThanOrEqual(0); // found; /proc counts in 10 ms ticks, too coarse for a 1 s run
      expect(isPositive(report.singlePoints.apiToDriverRatio)).toBe(true);
      expect(report.workerOverhead).toMatchObject({ errors: 0, requests: 300, bareUs: positive, meetrUs: positive });
      for (const part of Object.values(report.workerOverhead.partsUs)) expect(isPositive(part)).toBe(true);

      expect(report.search.map((s) => s.range)).toEqual(['year', 'month', 'day', 'hour']);
      // One point every 6 hours through 2025: 1460 in the year, 124 in March, 4 on a day, none in most hours.
      expect(report.search.map((s) => s.points)).toEqual([1460, 124, 4, 0]);
      for (const s of report.search) {
        expect(isPositive(s.api.p50Ms) && isPositive(s.apiColdMs) && isPositive(s.naive.p50Ms)).toBe(true);
        expect(isPositive(s.speedup) && isPositive(s.coldSpeedup)).toBe(true);
      }

      // The same points in series: every bucket of the range, whatever the zone (a UTC year meets 366 local days).
      expect(report.series.map((s) => [s.buckets, s.points])).toEqual([
        [8760, 1460],
        [2976, 124],
        [366, 1460],
        [366, 1460],
        [1, 1460],
      ]);
      for (const s of report.series)
        expect(
          isPositive(s.api.p50Ms) && isPositive(s.apiFirstMs) && isPositive(s.naive.p50Ms) && isPositive(s.speedup),
        ).toBe(true);

      expect(report.memory.batchPoints).toBe(5_000);
      expect(report.memory.workers).toHaveLength(stack.workerPorts.length);
      for (const worker of report.memory.workers)
        expect(worker.rssPeakBytes).toBeGreaterThanOrEqual(worker.rssBeforeBytes);
      const live = report.memory.liveBytes;
      for (const stage of [live.body, live.inputs, live.points]) expect(stage).toBeGreaterThan(0);
      expect(live.peak).toBeGreaterThanOrEqual(live.body);

      const { overload } = report;
      expect(overload.requests).toBe(overload.accepted + overload.shed + overload.failed);
      expect(overload.failed).toBe(0);
      expect(overload.storedPoints).toBeGreaterThanOrEqual(overload.acknowledgedPoints); // nothing acknowledged is lost
      for (const figure of [
        overload.capacityPointsPerSecond,
        overload.goodputPointsPerSecond,
        overload.workerPeakRssBytes,
      ])
        expect(isPositive(figure)).toBe(true);

      const table = formatReport(report);
      for (const section of [
        '1. ingest',
        '2. single-point inserts',
        '3. search',
        '4. worker RSS',
        '5. worker overhead',
        '6. overload',
        '7. series',
        '8. a dense metric',
        'roller cost',
        'roller lag per round',
        'ratio API / ceiling',
        'ratio API single / driver single',
      ])
        expect(table).toContain(section);
      expect(lines.some((line) => line.startsWith('ingest: round'))).toBe(true);
    } finally {
      await client.shutdown();
    }
    // Every scenario at tiny sizes, waits for the roller included: 172 s here, over the suite's 180 s default.
  }, 360_000);
});

describe('the load generator', () => {
  it('writes a steady load and reports rate, errors and latency', async () => {
    const intervals: number[] = [];
    const summary = await runLoad({
      target: stack.baseUrl,
      rate: 2_000,
      metrics: 5,
      durationSeconds: 3,
      batch: 50,
      seed: 3,
      reportEverySeconds: 1,
      report: (interval) => intervals.push(interval.pointsPerSecond),
    });
    expect(summary.errors).toBe(0);
    expect(summary.pointsWritten).toBe(summary.requests * 50);
    expect(summary.pointsWritten).toBeGreaterThan(2_000);
    expect(isPositive(summary.achievedPointsPerSecond) && isPositive(summary.p50Ms)).toBe(true);
    expect(intervals.length).toBeGreaterThanOrEqual(2);
  });
});
