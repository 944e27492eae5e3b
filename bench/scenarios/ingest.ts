/**
 * Bulk ingest: the same points written straight to Cassandra through meetr's own
 * storage adapter (prepared per-partition unlogged batches, many in flight: the
 * ceiling) and through HAProxy as form batches, in alternating rounds.
 */
import { forEachBounded } from '../../src/concurrency.js';
import type { Point } from '../../src/domain/point.js';
import type { CassandraPointStore } from '../../src/storage/cassandra/point-store.js';
import type { BenchContext } from '../context.js';
import { formBatchBodies, generatePoints } from '../dataset.js';
import { Failures, postAll } from '../failures.js';
import { median } from '../latency.js';
import { partitionWrites } from '../partitions.js';
import type { BenchSizes } from '../sizes.js';

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
}

const INGEST_STEP_MS = 10_000;

/** Writes points straight to Cassandra the fastest way known: prepared, per-partition unlogged batches, many in flight. */
export async function writeDirect(store: CassandraPointStore, points: readonly Point[], pointsPerBatch: number, concurrency: number): Promise<number> {
  const started = performance.now();
  const writeTimeUs = Date.now() * 1000;
  await forEachBounded(partitionWrites(points, pointsPerBatch), concurrency, (write) =>
    store.writePartition(write.metricId, write.partition, write.points.map((point) => ({ ...point, writeTimeUs }))),
  );
  return points.length / ((performance.now() - started) / 1000);
}

/**
 * The same points straight to Cassandra (tuned) and through HAProxy, in alternating
 * rounds after a warm-up of both paths, so flushes, compactions and JIT warm-up
 * fall on both sides alike. Compares medians.
 */
export async function benchIngest(ctx: BenchContext, sizes: BenchSizes): Promise<IngestResult> {
  const { ingestPoints: count, ingestMetrics: metrics, ingestRounds: rounds } = sizes;
  const endMs = Date.now();
  const make = (prefix: string, n = count, seed = ctx.seed): Point[] => generatePoints({ count: n, metrics, prefix, stepMs: INGEST_STEP_MS, endMs, seed });
  const bodiesOf = (points: readonly Point[]): string[] => formBatchBodies(points, sizes.apiBatch);

  ctx.progress('ingest: warming up both paths');
  const warmup = make(`bench.warmup.${ctx.seed}`, Math.min(count, 20_000));
  await writeDirect(ctx.store, warmup, 100, 64);
  await postAll(ctx.apiUrl, bodiesOf(warmup), sizes.apiClients, () => undefined);

  const tried: Array<{ pointsPerBatch: number; concurrency: number; pointsPerSecond: number }> = [];
  const sample = Math.max(10_000, Math.floor(count / 5));
  for (const [i, { pointsPerBatch, concurrency }] of sizes.ceilingGrid.entries()) {
    ctx.progress(`ingest: tuning the direct writer ${i + 1}/${sizes.ceilingGrid.length} (${pointsPerBatch} points/batch, ${concurrency} in flight)`);
    tried.push({ pointsPerBatch, concurrency, pointsPerSecond: await writeDirect(ctx.store, make(`bench.tune${i}.${ctx.seed}`, sample, ctx.seed + i), pointsPerBatch, concurrency) });
  }
  const best = tried.reduce((a, b) => (b.pointsPerSecond > a.pointsPerSecond ? b : a));

  const ceilingRounds: number[] = [];
  const apiRounds: number[] = [];
  const failures = new Failures();
  for (let round = 0; round < rounds; round++) {
    const direct = async (): Promise<void> => {
      ctx.progress(`ingest: round ${round + 1}/${rounds}, ${count} points straight to Cassandra`);
      ceilingRounds.push(await writeDirect(ctx.store, make(`bench.direct.${round}.${ctx.seed}`), best.pointsPerBatch, best.concurrency));
    };
    const api = async (): Promise<void> => {
      const bodies = bodiesOf(make(`bench.api.${round}.${ctx.seed}`));
      const result = await postAll(ctx.apiUrl, bodies, sizes.apiClients, (done) => ctx.progress(`ingest: round ${round + 1}/${rounds}, through HAProxy, batch ${done}/${bodies.length}`));
      failures.absorb(result.failures);
      apiRounds.push((count - result.failures.count * sizes.apiBatch) / result.seconds);
    };
    if (round % 2 === 0) {
      await direct();
      await api();
    } else {
      await api();
      await direct();
    }
  }
  const ceiling = median(ceilingRounds);
  const apiRate = median(apiRounds);
  return {
    points: count,
    rounds,
    ceiling: { pointsPerSecond: ceiling, rounds: ceilingRounds, pointsPerBatch: best.pointsPerBatch, concurrency: best.concurrency, tried },
    api: { pointsPerSecond: apiRate, rounds: apiRounds, batch: sizes.apiBatch, clients: sizes.apiClients, errors: failures.count, errorSamples: failures.samples },
    ratio: apiRate / ceiling,
  };
}
