import os from 'node:os';
import type { CassandraClient } from '../src/storage/cassandra/client.js';
import type { Retention } from '../src/rollup/retention.js';
import { CassandraPointStore } from '../src/storage/cassandra/point-store.js';
import { benchIngest, type IngestResult } from './scenarios/ingest.js';
import { benchMemory, type MemoryResult } from './scenarios/memory.js';
import { benchOverload, type OverloadResult } from './scenarios/overload.js';
import type { RollerControl } from './roller-control.js';
import { benchSearch, loadYearMetric, type SearchResult, type YearLoad } from './scenarios/search.js';
import { benchSeries, type SeriesResult } from './scenarios/series.js';
import { benchDense, type DenseResult } from './scenarios/dense.js';
import { benchDriverSingle, benchSinglePoints, type SingleResult } from './scenarios/single-points.js';
import { benchWorkerOverhead, type OverheadResult } from './scenarios/worker-overhead.js';
import type { CpuPerRequest, CpuProbes } from './cpu-probes.js';
import { findPids } from './process-cpu.js';
import type { BenchSizes } from './sizes.js';

export interface BenchOptions {
  readonly apiUrl: string;
  readonly workerUrls: readonly string[];
  readonly telemetryUrls: readonly string[];
  /** A client of the cluster meetr writes to, for the baselines (through meetr's own storage adapter). */
  readonly client: CassandraClient;
  readonly keyspace: string;
  /** The stack's retention: the baselines write rows with the TTLs the API gives its rows. */
  readonly retention: Retention;
  readonly seed: number;
  readonly sizes: BenchSizes;
  readonly progress: (line: string) => void;
  /** HAProxy's rendered configuration, to find its processes for CPU figures; any HAProxy when absent. */
  readonly haproxyConfig?: string;
  /** The stack's roller, to measure its lag and what it costs ingest. */
  readonly roller: RollerControl;
}

export interface BenchReport {
  readonly date: string;
  readonly seed: number;
  readonly environment: {
    readonly node: string;
    readonly cassandra: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryGiB: number;
    readonly apiUrl: string;
    readonly workers: number;
  };
  readonly sizes: BenchSizes;
  readonly ingest: IngestResult;
  readonly singlePoints: {
    readonly throughHaproxy: SingleResult;
    readonly straightToWorker: SingleResult;
    /** The storage adapter's single-point INSERTs, as many in flight: the ceiling. */
    readonly driver: SingleResult;
    readonly haproxyThroughputRatio: number;
    /** Through HAProxy over the driver's single-statement rate. */
    readonly apiToDriverRatio: number;
  };
  readonly workerOverhead: OverheadResult;
  readonly year: YearLoad;
  readonly search: SearchResult[];
  readonly series: SeriesResult[];
  readonly dense: DenseResult;
  readonly memory: MemoryResult;
  readonly overload: OverloadResult;
  readonly seconds: number;
}

/** Every benchmark of `npm run bench`, against a running stack; ratios are measured within this one run. */
export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const started = performance.now();
  const { apiUrl, workerUrls, telemetryUrls, client, keyspace, retention, seed, sizes, progress } = options;
  await client.connect();
  const ctx = {
    apiUrl,
    workerUrls,
    telemetryUrls,
    store: new CassandraPointStore(client, keyspace, undefined, retention),
    seed,
    progress,
    roller: options.roller,
  };
  const probes: CpuProbes = {
    telemetryUrls,
    haproxyPids:
      options.haproxyConfig === undefined ? findPids('haproxy', '-f') : findPids('haproxy', options.haproxyConfig),
    cassandraPids: findPids('org.apache.cassandra.service.CassandraDaemon'),
  };

  const ingest = await benchIngest(ctx, sizes, probes);
  progress('single points: the driver alone');
  const driver = await benchDriverSingle(
    ctx,
    sizes.singleClients,
    sizes.singleSeconds,
    `bench.single.driver.${seed}`,
    probes,
  );
  progress('single points: through HAProxy');
  const throughHaproxy = await benchSinglePoints(
    apiUrl,
    sizes.singleClients,
    sizes.singleSeconds,
    `bench.single.haproxy.${seed}`,
    probes,
  );
  progress('single points: straight to one worker');
  const straightToWorker = await benchSinglePoints(
    workerUrls[0]!,
    sizes.singleClients,
    sizes.singleSeconds,
    `bench.single.worker.${seed}`,
    probes,
  );
  progress('worker overhead: meetr against bare node:http, no Cassandra');
  const workerOverhead = await benchWorkerOverhead(sizes.overheadRequests, sizes.singleClients);
  progress(`search: loading a year of points through the API`);
  const year = await loadYearMetric(ctx, sizes.searchStepMs);
  const search = await benchSearch(ctx, sizes, year);
  const series = await benchSeries(ctx, sizes, year);
  progress('dense: a metric at 1,000 points a second');
  const dense = await benchDense(ctx, sizes);
  const memory = await benchMemory(ctx, sizes);
  const overload = await benchOverload(ctx, sizes.overloadCapacitySeconds, sizes.overloadSeconds);

  return {
    date: new Date().toISOString(),
    seed,
    environment: {
      node: process.version,
      cassandra: client.getState().getConnectedHosts()[0]?.cassandraVersion ?? 'unknown',
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      apiUrl,
      workers: workerUrls.length,
    },
    sizes,
    ingest,
    singlePoints: {
      throughHaproxy,
      straightToWorker,
      driver,
      haproxyThroughputRatio: throughHaproxy.requestsPerSecond / straightToWorker.requestsPerSecond,
      apiToDriverRatio: throughHaproxy.requestsPerSecond / driver.requestsPerSecond,
    },
    workerOverhead,
    year,
    search,
    series,
    dense,
    memory,
    overload,
    seconds: (performance.now() - started) / 1000,
  };
}

/** The report as the table `npm run bench` prints. */
export function formatReport(report: BenchReport): string {
  const n = (value: number, digits = 0): string =>
    Number.isFinite(value)
      ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
      : 'n/a';
  const mib = (bytes: number): string => `${n(bytes / 2 ** 20, 1)} MiB`;
  const us = (value: number | undefined): string => (value === undefined ? '?' : n(value, 0));
  const cpu = (c: CpuPerRequest): string =>
    `${us(c.workersUs)} / ${us(c.haproxyUs)} / ${us(c.cassandraUs)} / ${us(c.clientUs)}`;
  const { ingest, singlePoints: single, year, search, series, dense, memory, overload, environment: env } = report;
  const rows: string[][] = [
    [
      '1. ingest, median of rounds',
      `${n(ingest.points)} points, ${report.sizes.ingestMetrics} metrics`,
      `${ingest.rounds} alternating rounds`,
    ],
    [
      '   ceiling: driver, direct',
      `${n(ingest.ceiling.pointsPerSecond)} points/s`,
      `${ingest.ceiling.pointsPerBatch} points/batch, ${ingest.ceiling.concurrency} in flight; rounds ${ingest.ceiling.rounds.map((r) => n(r)).join(', ')}`,
    ],
    [
      '   API: form batches via HAProxy',
      `${n(ingest.api.pointsPerSecond)} points/s`,
      `${ingest.api.batch} points/request, ${ingest.api.clients} clients, ${ingest.api.errors} errors; rounds ${ingest.api.rounds.map((r) => n(r)).join(', ')}`,
    ],
    ['   ratio API / ceiling', n(ingest.ratio, 2), ''],
    [
      '   CPU µs per point, ceiling',
      cpu(ingest.cpuPerPoint.ceiling),
      'workers / HAProxy / Cassandra (all nodes) / bench client',
    ],
    [
      '   CPU µs per point, API',
      cpu(ingest.cpuPerPoint.api),
      'workers / HAProxy / Cassandra (all nodes) / bench client',
    ],
    ...(ingest.roller === undefined
      ? []
      : [
          [
            '   API with the roller stopped',
            `${n(ingest.roller.apiStoppedPointsPerSecond)} points/s`,
            `rounds ${ingest.roller.stoppedRounds.map((r) => n(r)).join(', ')}`,
          ],
          [
            '   roller cost',
            `${n(100 * ingest.roller.costShare, 1)}% of API ingest`,
            `target <= 20% (issue 26); lag at most ${n(ingest.roller.lagMaxSeconds, 1)} s during the rounds (target < 60 s), caught up ${n(ingest.roller.catchUpSeconds, 1)} s after the last`,
          ],
          [
            '   roller lag per round',
            ingest.roller.lagRounds.map((lag) => `${n(lag.atStartSeconds, 1)} -> ${n(lag.maxSeconds, 1)} s`).join(', '),
            'at the round start -> at most; a round after a stopped round starts with its backlog',
          ],
          ...(ingest.roller.cpu === undefined
            ? []
            : [
                [
                  '   roller CPU per point',
                  `${n(100 * ingest.roller.cpu.share, 1)}% of taking and rolling it`,
                  `roller ${n(ingest.roller.cpu.rollerUs, 1)} + Cassandra ${n(ingest.roller.cpu.cassandraUs, 1)} µs against the API's ${cpu(ingest.roller.cpu.api)}; ${n(ingest.roller.cpu.points)} points, ${n(ingest.roller.cpu.pointsRead)} read, in ${n(ingest.roller.cpu.seconds, 1)} s`,
                ],
              ]),
        ]),
    [
      '2. single-point inserts',
      `${report.sizes.singleClients} in flight`,
      'CPU per request (µs): worker / HAProxy / Cassandra / bench client',
    ],
    ...(
      [
        ['driver alone (ceiling)', single.driver],
        ['through HAProxy', single.throughHaproxy],
        ['straight to one worker', single.straightToWorker],
      ] as const
    ).map(([name, run]) => [
      `   ${name}`,
      `${n(run.requestsPerSecond)} req/s`,
      `p50 ${n(run.p50Ms, 1)} ms, p99 ${n(run.p99Ms, 1)} ms, ${run.errors} errors; CPU ${cpu(run.cpuPerRequest)}`,
    ]),
    ['   ratio API single / driver single', n(single.apiToDriverRatio, 2), 'target 0.4'],
    ['   ratio HAProxy / worker', n(single.haproxyThroughputRatio, 2), 'target 0.9'],
    [
      `5. worker overhead, no Cassandra`,
      `${n(report.workerOverhead.addedUs, 0)} µs/request added`,
      `meetr ${n(report.workerOverhead.meetrUs, 0)} µs vs bare node:http ${n(report.workerOverhead.bareUs, 0)} µs (server + client CPU)`,
    ],
    [
      '   parts, per call',
      `decode+validate ${n(report.workerOverhead.partsUs.decodeAndValidate, 1)} µs`,
      `search params ${n(report.workerOverhead.partsUs.searchParams, 1)} µs, telemetry ${n(report.workerOverhead.partsUs.telemetry, 2)} µs`,
    ],
    [
      '3. search: a fresh year',
      `${n(year.points)} points loaded`,
      `year sum right after loading (roller at work) ${year.justLoadedMs === undefined ? 'refused until rolled up (MEETR_MAX_SEARCH_PARTITIONS)' : `${n(year.justLoadedMs, 1)} ms`}; all rolled up ${n(year.rolledAfterMs / 1000, 1)} s after loading`,
    ],
    ['   sum, p50 / p99', 'API warm (first, rolled)', 'naive (driver + Node) -> speed-up warm (first)'],
    ...search.map((s) => [
      `   ${s.range} (${n(s.points)} points)`,
      `${n(s.api.p50Ms, 1)} / ${n(s.api.p99Ms, 1)} ms (${n(s.apiColdMs, 1)})`,
      `${n(s.naive.p50Ms, 1)} / ${n(s.naive.p99Ms, 1)} ms  -> ${n(s.speedup, 1)}x (${n(s.coldSpeedup, 1)}x)`,
    ]),
    ['7. series, p50 / p99', 'API (first request)', 'naive (driver + Node, bucketed here) p50 -> speed-up'],
    ...series.map((s) => [
      `   ${s.name} (${n(s.buckets)} buckets, ${n(s.points)} points)`,
      `${n(s.api.p50Ms, 1)} / ${n(s.api.p99Ms, 1)} ms (${n(s.apiFirstMs, 1)})`,
      `${n(s.naive.p50Ms, 1)} ms -> ${n(s.speedup, 1)}x`,
    ]),
    [
      `8. a dense metric, 1,000 points/s`,
      `${n(dense.points)} points (${dense.minutes} min)`,
      `loaded at ${n(dense.loadPointsPerSecond)} points/s, all rolled up ${n(dense.rolledAfterMs / 1000, 1)} s after`,
    ],
    [
      '   sum, p50 / p99',
      `${n(dense.sum.p50Ms, 1)} / ${n(dense.sum.p99Ms, 1)} ms`,
      `naive ${n(dense.naive.p50Ms, 1)} ms -> ${n(dense.speedup, 1)}x`,
    ],
    [
      `   at 1m (${n(dense.minuteSeries.buckets)} buckets), p50 / p99`,
      `${n(dense.minuteSeries.p50Ms, 1)} / ${n(dense.minuteSeries.p99Ms, 1)} ms`,
      '',
    ],
    [
      `4. worker RSS, ${n(memory.batchPoints)}-point batches`,
      `body ${mib(memory.batchBodyBytes)}`,
      `${memory.batches} batches`,
    ],
    ...memory.workers.map((w) => [`   ${w.url}`, `peak ${mib(w.rssPeakBytes)}`, `before ${mib(w.rssBeforeBytes)}`]),
    [
      '   live set of one batch',
      `${mib(memory.liveBytes.peak)} (${n(memory.liveBytes.peak / memory.batchBodyBytes, 1)}x the body)`,
      `body ${mib(memory.liveBytes.body)}, form ${mib(memory.liveBytes.form)}, inputs ${mib(memory.liveBytes.inputs)}, points ${mib(memory.liveBytes.points)}`,
    ],
    [
      `6. overload, ${overload.batch}-point batches`,
      `capacity ${n(overload.capacityPointsPerSecond)} points/s`,
      `offered ${n(overload.offeredPointsPerSecond)} points/s for ${overload.seconds} s, open loop`,
    ],
    [
      '   goodput',
      `${n(overload.goodputPointsPerSecond)} points/s`,
      `${n(overload.goodputRatio, 2)} of capacity (target 0.8)`,
    ],
    [
      '   accepted latency',
      `p50 ${n(overload.acceptedP50Ms, 0)} ms, p99 ${n(overload.acceptedP99Ms, 0)} ms`,
      'target p99 < 1,000 ms',
    ],
    [
      '   answers',
      `${n(overload.accepted)} 200, ${n(overload.shed)} 503 (${n(100 * overload.shedShare, 1)}% shed)`,
      `${overload.failed} other (target 0)${overload.failureSamples.length > 0 ? `: ${overload.failureSamples.slice(0, 2).join(' | ')}` : ''}`,
    ],
    ['   worker peak RSS', mib(overload.workerPeakRssBytes), 'target < 1 GiB'],
    [
      '   recovery',
      `${n(overload.recoverySeconds, 1)} s`,
      'until every queue is empty and an insert answers within 100 ms',
    ],
    [
      '   acknowledged points stored',
      `${n(overload.storedPoints)} of ${n(overload.acknowledgedPoints)}`,
      'stored >= acknowledged: nothing lost',
    ],
  ];
  const samples = [
    ...ingest.api.errorSamples,
    ...single.throughHaproxy.errorSamples,
    ...single.straightToWorker.errorSamples,
    ...single.driver.errorSamples,
  ];
  if (samples.length > 0) rows.push(['   errors seen', samples.slice(0, 3).join(' | '), '']);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
  return [
    `meetr bench ${report.date}  seed ${report.seed}  ${env.cpus} cpus (${env.cpuModel}), ${env.memoryGiB} GiB, Node ${env.node}, Cassandra ${env.cassandra}, ${env.workers} workers`,
    ...lines,
    `(${n(report.seconds)} s)`,
  ].join('\n');
}
