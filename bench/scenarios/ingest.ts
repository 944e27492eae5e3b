/**
 * Bulk ingest: the same points written straight to Cassandra through meetr's own
 * storage adapter (prepared per-partition unlogged batches, many in flight: the
 * ceiling) and through HAProxy as form batches, in alternating rounds.
 */
import { forEachBounded } from '../../src/concurrency.js';
import type { Point } from '../../src/domain/point.js';
import type { CassandraPointStore } from '../../src/storage/cassandra/point-store.js';
import type { BenchContext } from '../context.js';
import { measureCpu, type CpuPerRequest, type CpuProbes } from '../cpu-probes.js';
import { formBatchBodies, generatePoints } from '../dataset.js';
import { Failures, postAll } from '../failures.js';
import { median } from '../latency.js';
import { partitionWrites } from '../partitions.js';
import type { BenchSizes } from '../sizes.js';
import { measureRollingCpu, type RollingCpu } from './rolling-cpu.js';

export interface RollerCost {
  /** The API's median with the roller stopped. */
  readonly apiStoppedPointsPerSecond: number;
  readonly stoppedRounds: number[];
  /** 1 - API with the roller / API without it. */
  readonly costShare: number;
  /** The largest lag the roller reported during the API rounds it ran through. */
  readonly lagMaxSeconds: number;
  /**
   * Per API round with the roller running: its lag as the round began and its largest during it. A round that
   * follows a round with the roller stopped begins with that round's backlog, and the time it was stopped.
   */
  readonly lagRounds: ReadonlyArray<{ readonly atStartSeconds: number; readonly maxSeconds: number }>;
  /** After the last round, until the roller reported no lag. */
  readonly catchUpSeconds: number;
  /** The roller's CPU a point on a backlog of its own (rolling-cpu.ts); absent when the sizes leave it out. */
  readonly cpu: RollingCpu | undefined;
}

export interface IngestResult {
  readonly points: number;
  readonly rounds: number;
  readonly ceiling: {
    readonly pointsPerSecond: number;
    readonly rounds: readonly number[];
    readonly pointsPerBatch: number;
    readonly concurrency: number;
    readonly tried: ReadonlyArray<{ pointsPerBatch: number; concurrency: number; pointsPerSecond: number }>;
  };
  readonly api: {
    readonly pointsPerSecond: number;
    readonly rounds: readonly number[];
    readonly batch: number;
    readonly clients: number;
    readonly errors: number;
    readonly errorSamples: readonly string[];
  };
  /** Median API points/s over median ceiling points/s. */
  readonly ratio: number;
  /** CPU µs per point in each tier (median of the rounds): the capacity plan's unit costs. */
  readonly cpuPerPoint: { readonly ceiling: CpuPerRequest; readonly api: CpuPerRequest };
  /** What the roller costs the API, when the stack runs one. */
  readonly roller: RollerCost | undefined;
}

const INGEST_STEP_MS = 10_000;

/** Writes points straight to Cassandra the fastest way known: prepared, per-partition unlogged batches, many in flight. */
export async function writeDirect(
  store: CassandraPointStore,
  points: readonly Point[],
  pointsPerBatch: number,
  concurrency: number,
): Promise<number> {
  const writes = await partitionWrites(points, pointsPerBatch);
  const started = performance.now();
  const writeTimeUs = Date.now() * 1000;
  await forEachBounded(writes, concurrency, (write) =>
    store.writePartition(
      write.metricId,
      write.partition,
      write.points.map((point) => ({ ...point, writeTimeUs })),
    ),
  );
  return points.length / ((performance.now() - started) / 1000);
}

/**
 * The same points straight to Cassandra (tuned) and through HAProxy, in alternating
 * rounds after a warm-up of both paths, so flushes, compactions and JIT warm-up
 * fall on both sides alike. Compares medians.
 */
export async function benchIngest(ctx: BenchContext, sizes: BenchSizes, probes: CpuProbes): Promise<IngestResult> {
  const { ingestPoints: count, ingestMetrics: metrics, ingestRounds: rounds } = sizes;
  const endMs = Date.now();
  // A run's own series: an earlier run of the same day wrote into the same hours of the same series, and the roller
  // would roll those points again with this run's, charging ingest for the earlier runs.
  const run = `${ctx.seed}.${endMs}`;
  const make = (prefix: string, n = count, seed = ctx.seed): Point[] =>
    generatePoints({ count: n, metrics, prefix, stepMs: INGEST_STEP_MS, endMs, seed });
  const bodiesOf = (points: readonly Point[]): string[] => formBatchBodies(points, sizes.apiBatch);

  ctx.progress('ingest: warming up both paths');
  const warmup = make(`bench.warmup.${run}`, Math.min(count, 20_000));
  await writeDirect(ctx.store, warmup, 100, 64);
  await postAll(ctx.apiUrl, bodiesOf(warmup), sizes.apiClients, () => undefined);

  const tried: Array<{ pointsPerBatch: number; concurrency: number; pointsPerSecond: number }> = [];
  const sample = Math.max(10_000, Math.floor(count / 5));
  for (const [i, { pointsPerBatch, concurrency }] of sizes.ceilingGrid.entries()) {
    ctx.progress(
      `ingest: tuning the direct writer ${i + 1}/${sizes.ceilingGrid.length} (${pointsPerBatch} points/batch, ${concurrency} in flight)`,
    );
    tried.push({
      pointsPerBatch,
      concurrency,
      pointsPerSecond: await writeDirect(
        ctx.store,
        make(`bench.tune${i}.${run}`, sample, ctx.seed + i),
        pointsPerBatch,
        concurrency,
      ),
    });
  }
  const best = tried.reduce((a, b) => (b.pointsPerSecond > a.pointsPerSecond ? b : a));

  const ceilingRounds: number[] = [];
  const apiRounds: number[] = [];
  const apiStoppedRounds: number[] = [];
  const lagRounds: Array<{ atStartSeconds: number; maxSeconds: number }> = [];
  const failures = new Failures();
  const { roller } = ctx;
  const ceilingCpu: CpuPerRequest[] = [];
  const apiCpu: CpuPerRequest[] = [];
  for (let round = 0; round < rounds; round++) {
    const direct = async (): Promise<void> => {
      ctx.progress(`ingest: round ${round + 1}/${rounds}, ${count} points straight to Cassandra`);
      const points = make(`bench.direct.${round}.${run}`);
      const measured = await measureCpu(probes, async () => ({
        requests: points.length,
        rate: await writeDirect(ctx.store, points, best.pointsPerBatch, best.concurrency),
      }));
      ceilingRounds.push(measured.rate);
      ceilingCpu.push(measured.cpuPerRequest);
    };
    const api = async (into: number[], label: string, cpu?: CpuPerRequest[]): Promise<void> => {
      const bodies = bodiesOf(make(`bench.api.${label}.${round}.${run}`));
      const result = await measureCpu(probes, async () => {
        const posted = await postAll(ctx.apiUrl, bodies, sizes.apiClients, (done) =>
          ctx.progress(
            `ingest: round ${round + 1}/${rounds}, through HAProxy (${label}), batch ${done}/${bodies.length}`,
          ),
        );
        return { ...posted, requests: count - posted.failures.count * sizes.apiBatch };
      });
      failures.absorb(result.failures);
      into.push(result.requests / result.seconds);
      cpu?.push(result.cpuPerRequest);
    };
    /** The API with the roller at work, sampling its lag meanwhile. */
    const apiRolling = async (): Promise<void> => {
      const atStartSeconds = await roller.lagSeconds();
      const lag = { atStartSeconds, maxSeconds: atStartSeconds };
      lagRounds.push(lag);
      const sampler = setInterval(
        () => void roller.lagSeconds().then((seconds) => (lag.maxSeconds = Math.max(lag.maxSeconds, seconds))),
        250,
      );
      try {
        await api(apiRounds, 'roller running', apiCpu);
      } finally {
        clearInterval(sampler);
      }
    };
    /** The API with the roller stopped: what ingest does without its cost. */
    const apiStopped = async (): Promise<void> => {
      if (!roller.available) return;
      await roller.stop();
      try {
        await api(apiStoppedRounds, 'roller stopped');
      } finally {
        await roller.start();
      }
    };
    const steps = [direct, apiRolling, apiStopped];
    for (const step of round % 2 === 0 ? steps : [...steps].reverse()) await step();
  }
  // The roller's backlog from all rounds: how long until it has caught up (later scenarios run after).
  const caughtUpStarted = performance.now();
  if (roller.available) {
    ctx.progress('ingest: waiting for the roller to catch up');
    await roller.caughtUp();
  }
  const catchUpSeconds = (performance.now() - caughtUpStarted) / 1000;
  let cpu: RollingCpu | undefined;
  if (roller.available && sizes.rollingPoints > 0) {
    // Slots not over yet hold the last rounds' writes: the backlog measured must be all the roller has to do.
    ctx.progress('ingest: waiting until the roller has rolled every write so far');
    await new Promise((resolve) => setTimeout(resolve, roller.dueAfterMs));
    await roller.caughtUp();
    const points = sizes.rollingPoints;
    const bodies = bodiesOf(make(`bench.rolling.${run}`, points));
    cpu = await measureRollingCpu(ctx, probes, { bodies, points, batch: sizes.apiBatch, clients: sizes.apiClients });
  }
  const ceiling = median(ceilingRounds);
  const apiRate = median(apiRounds);
  return {
    points: count,
    rounds,
    ceiling: {
      pointsPerSecond: ceiling,
      rounds: ceilingRounds,
      pointsPerBatch: best.pointsPerBatch,
      concurrency: best.concurrency,
      tried,
    },
    api: {
      pointsPerSecond: apiRate,
      rounds: apiRounds,
      batch: sizes.apiBatch,
      clients: sizes.apiClients,
      errors: failures.count,
      errorSamples: failures.samples,
    },
    ratio: apiRate / ceiling,
    cpuPerPoint: { ceiling: medianCpu(ceilingCpu), api: medianCpu(apiCpu) },
    roller: roller.available
      ? {
          apiStoppedPointsPerSecond: median(apiStoppedRounds),
          stoppedRounds: apiStoppedRounds,
          costShare: 1 - apiRate / median(apiStoppedRounds),
          lagMaxSeconds: Math.max(0, ...lagRounds.map((lag) => lag.maxSeconds)),
          lagRounds,
          catchUpSeconds,
          cpu,
        }
      : undefined,
  };
}

/** Each tier's median over the rounds (undefined where a round could not read it). */
function medianCpu(rounds: readonly CpuPerRequest[]): CpuPerRequest {
  const of = (pick: (c: CpuPerRequest) => number | undefined): number | undefined => {
    const values = rounds.map(pick);
    return values.some((value) => value === undefined) ? undefined : median(values as number[]);
  };
  return {
    workersUs: of((c) => c.workersUs),
    haproxyUs: of((c) => c.haproxyUs),
    cassandraUs: of((c) => c.cassandraUs),
    clientUs: median(rounds.map((c) => c.clientUs)),
  };
}
