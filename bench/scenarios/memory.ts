/** Worker memory under 100,000-point batches: RSS sampled from every worker, and the ingest path's live set measured here. */
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pointInputsFromForm } from '../../src/http/point-input.js';
import { validatePoints } from '../../src/http/validate-points.js';
import type { BenchContext } from '../context.js';
import { formBatchBody, generatePoints } from '../dataset.js';
import { postAll } from '../failures.js';
import type { BenchSizes } from '../sizes.js';
import { workerMetric } from '../worker-metrics.js';

const RSS = 'process_resident_memory_bytes';

export interface MemoryResult {
  readonly batchPoints: number;
  readonly batchBodyBytes: number;
  readonly batches: number;
  /**
   * What a worker's HTTP edge keeps alive for one batch, stage by stage, measured in
   * this process with the same parsers and forced garbage collections: body text,
   * decoded form, parsed inputs, validated points. `peak` is all at once.
   */
  readonly liveBytes: {
    readonly body: number;
    readonly form: number;
    readonly inputs: number;
    readonly points: number;
    readonly peak: number;
  };
  readonly workers: ReadonlyArray<{
    readonly url: string;
    readonly rssBeforeBytes: number;
    readonly rssPeakBytes: number;
  }>;
}

/** The ingest path's live memory per stage for one form body (see MemoryResult.liveBytes). */
export function measureLiveSet(body: Buffer): MemoryResult['liveBytes'] {
  v8.setFlagsFromString('--expose-gc');
  const collect = runInNewContext('gc') as () => void;
  const heapUsed = (): number => {
    collect();
    collect();
    return process.memoryUsage().heapUsed;
  };
  const start = heapUsed();
  const text = body.toString('utf8');
  const afterBody = heapUsed();
  const form = new URLSearchParams(text);
  const metrics = form.get('metrics') ?? undefined;
  const afterForm = heapUsed();
  const inputs = pointInputsFromForm(
    (name) => (name === 'metrics' ? metrics : (form.get(name) ?? undefined)),
    Number.MAX_SAFE_INTEGER,
  );
  const afterInputs = heapUsed();
  const points = validatePoints(inputs, 'UTC');
  const afterPoints = heapUsed();
  const result = {
    body: afterBody - start,
    form: afterForm - afterBody,
    inputs: afterInputs - afterForm,
    points: afterPoints - afterInputs,
    peak: afterPoints - start,
  };
  if (points.length === 0 || text.length === 0) throw new Error('nothing was measured'); // keeps every stage alive until here
  return result;
}

/** Sends 100,000-point batches through HAProxy one after the other while sampling every worker's RSS. */
export async function benchMemory(ctx: BenchContext, sizes: BenchSizes): Promise<MemoryResult> {
  const points = generatePoints({
    count: sizes.memoryBatchPoints,
    metrics: 50,
    prefix: `bench.memory.${ctx.seed}`,
    stepMs: 1_000,
    endMs: Date.now(),
    seed: ctx.seed,
  });
  const body = formBatchBody(points);
  const before = await Promise.all(ctx.telemetryUrls.map(async (url) => (await workerMetric(url, RSS)) ?? 0));
  const peak = [...before];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await Promise.all(
        ctx.telemetryUrls.map(async (url, i) => {
          const rss = await workerMetric(url, RSS);
          if (rss !== undefined) peak[i] = Math.max(peak[i]!, rss);
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  try {
    const { failures } = await postAll(
      ctx.apiUrl,
      Array.from({ length: sizes.memoryBatches }, () => body),
      1,
      (done) => ctx.progress(`memory: ${sizes.memoryBatchPoints}-point batch ${done}/${sizes.memoryBatches}`),
    );
    if (failures.count > 0)
      throw new Error(
        `${failures.count} of the ${sizes.memoryBatchPoints}-point batches failed: ${failures.samples.join('; ')}`,
      );
  } finally {
    sampling = false;
    await sampler;
  }
  return {
    batchPoints: sizes.memoryBatchPoints,
    batchBodyBytes: Buffer.byteLength(body),
    batches: sizes.memoryBatches,
    liveBytes: measureLiveSet(Buffer.from(body)),
    workers: ctx.workerUrls.map((url, i) => ({ url, rssBeforeBytes: before[i]!, rssPeakBytes: peak[i]! })),
  };
}
