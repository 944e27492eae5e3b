/**
 * Overload: open-loop inserts at twice the measured capacity for a while, sent on a
 * schedule whatever the answers. What a client sees: goodput (points acknowledged per
 * second), latency of the accepted requests, the share shed (503), anything else
 * (a failure); the workers' peak RSS; how long after the load stops until every
 * worker's queue is empty and a probe insert answers at once; and whether every
 * acknowledged point is stored.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchContext } from '../context.js';
import { formBatchBody } from '../dataset.js';
import { postMetrics, request } from '../http-client.js';
import { LatencySamples } from '../latency.js';
import { workerMetric } from '../worker-metrics.js';
import { dayBucket, dayStartMs } from '../../src/time/day-bucket.js';

export interface OverloadResult {
  readonly capacityPointsPerSecond: number;
  readonly offeredPointsPerSecond: number;
  readonly seconds: number;
  readonly batch: number;
  readonly requests: number;
  readonly accepted: number;
  readonly shed: number;
  /** Anything but 200 and 503, network errors included. */
  readonly failed: number;
  readonly failureSamples: readonly string[];
  readonly goodputPointsPerSecond: number;
  readonly goodputRatio: number;
  readonly acceptedP50Ms: number;
  readonly acceptedP99Ms: number;
  readonly shedShare: number;
  readonly workerPeakRssBytes: number;
  readonly recoverySeconds: number;
  readonly acknowledgedPoints: number;
  readonly storedPoints: number;
}

const BATCH = 200;
const METRICS = 200;
const RECOVERY_LIMIT_MS = 60_000;
const TICK_MS = 10;

/**
 * Capacity for this request shape: enough clients to keep the workers busy, each
 * sending its next batch when the last is answered, and pausing after a 503 as a
 * client honouring Retry-After would (briefly), so shedding does not spin.
 */
async function measureCapacity(ctx: BenchContext, prefix: string, seconds: number): Promise<number> {
  const clients = 8;
  let acceptedPoints = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let i = 0; performance.now() < end; i++) {
        const points = Array.from({ length: BATCH }, (_, m) => ({
          metricId: `${prefix}.capacity.${m % METRICS}`,
          ts: Date.now() - 60_000 + client * 1_000 + (i % 1_000),
          value: 1,
        }));
        const answer = await postMetrics(ctx.apiUrl, formBatchBody(points)).catch(() => undefined);
        if (answer?.status === 200) acceptedPoints += BATCH;
        else await sleep(100);
      }
    }),
  );
  return acceptedPoints / seconds;
}

export async function benchOverload(
  ctx: BenchContext,
  capacitySeconds: number,
  seconds: number,
): Promise<OverloadResult> {
  // A run's own metrics: an earlier run of the same day wrote the same timestamps, and would count as stored here.
  const prefix = `bench.overload.${ctx.seed}.${Date.now()}`;
  ctx.progress(`overload: capacity for ${BATCH}-point batches, closed loop for ${capacitySeconds} s`);
  const capacityPointsPerSecond = await measureCapacity(ctx, prefix, capacitySeconds);
  ctx.progress(`overload: ${Math.round(2 * capacityPointsPerSecond)} points/s offered for ${seconds} s, open loop`);
  const offered = 2 * capacityPointsPerSecond;
  const requestsPerSecond = offered / BATCH;
  const base = dayStartMs(dayBucket(Date.now())) + 1; // today: live data, as a real feed is
  const latencies = new LatencySamples();
  const failureSamples: string[] = [];
  let [sent, accepted, shed, failed] = [0, 0, 0, 0];
  const outstanding = new Set<Promise<void>>();

  let peakRss = 0;
  let sampling = true;
  const rssSampler = (async () => {
    while (sampling) {
      for (const url of ctx.telemetryUrls)
        peakRss = Math.max(peakRss, (await workerMetric(url, 'process_resident_memory_bytes')) ?? 0);
      await sleep(500);
    }
  })();

  const send = (index: number): void => {
    // Request i carries one point for each metric at ts base + i: no two requests write the same point.
    const points = Array.from({ length: BATCH }, (_, m) => ({
      metricId: `${prefix}.${m % METRICS}`,
      ts: base + index,
      value: 1,
    }));
    const started = performance.now();
    const done = postMetrics(ctx.apiUrl, formBatchBody(points)).then(
      (answer) => {
        if (answer.status === 200) {
          accepted++;
          latencies.add(performance.now() - started);
        } else if (answer.status === 503) shed++;
        else {
          failed++;
          if (failureSamples.length < 5) failureSamples.push(`${answer.status} ${answer.body.slice(0, 160)}`);
        }
      },
      (error: unknown) => {
        failed++;
        if (failureSamples.length < 5) failureSamples.push(error instanceof Error ? error.message : String(error));
      },
    );
    outstanding.add(done);
    void done.finally(() => outstanding.delete(done));
  };

  const started = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = (performance.now() - started) / 1000;
      if (elapsed >= seconds) {
        clearInterval(timer);
        resolve();
        return;
      }
      const due = Math.floor(elapsed * requestsPerSecond);
      while (sent < due) send(sent++);
    }, TICK_MS);
  });
  const stopped = performance.now();
  await Promise.all(outstanding);
  // Recovered: every worker's queue empty and a probe insert answered within 100 ms.
  // A stack that has not recovered a minute later is broken, not slow: say so and stop.
  for (;;) {
    if (performance.now() - stopped > RECOVERY_LIMIT_MS)
      throw new Error(`overload: not recovered ${RECOVERY_LIMIT_MS / 1000} s after the load stopped`);
    const queued = await Promise.all(ctx.telemetryUrls.map((url) => workerMetric(url, 'meetr_write_queue_points')));
    const probeStarted = performance.now();
    const probe = await postMetrics(ctx.apiUrl, `metric_id=${prefix}.probe&ts=${Date.now()}&value=1`).catch(
      () => undefined,
    );
    if (queued.every((q) => q === 0) && probe?.status === 200 && performance.now() - probeStarted < 100) break;
    await sleep(100);
  }
  const recoverySeconds = (performance.now() - stopped) / 1000;
  sampling = false;
  await rssSampler;

  let stored = 0;
  for (let m = 0; m < METRICS; m++) {
    const answer = await request(
      `${ctx.apiUrl}/1.0/metrics?metric=${prefix}.${m}&from=${base}&to=${base + sent - 1}&aggregation=count`,
    );
    stored += (JSON.parse(answer.body) as { count: number }).count;
  }
  const goodput = (accepted * BATCH) / seconds;
  return {
    capacityPointsPerSecond,
    offeredPointsPerSecond: offered,
    seconds,
    batch: BATCH,
    requests: sent,
    accepted,
    shed,
    failed,
    failureSamples,
    goodputPointsPerSecond: goodput,
    goodputRatio: goodput / capacityPointsPerSecond,
    acceptedP50Ms: latencies.percentile(50),
    acceptedP99Ms: latencies.percentile(99),
    shedShare: sent === 0 ? 0 : shed / sent,
    workerPeakRssBytes: peakRss,
    recoverySeconds,
    acknowledgedPoints: accepted * BATCH,
    storedPoints: stored,
  };
}
