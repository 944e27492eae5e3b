/**
 * Single-point inserts, one point per form POST as Meetr's clients write, through
 * HAProxy and straight to one worker; and the ceiling for them: the storage adapter
 * writing single-point INSERTs with the same number in flight. Each run says where
 * its CPU went.
 */
import type { BenchContext } from '../context.js';
import { measureCpu, type CpuPerRequest, type CpuProbes } from '../cpu-probes.js';
import { asError, Failures } from '../failures.js';
import { postMetrics } from '../http-client.js';
import { LatencySamples } from '../latency.js';
import { samplePartition } from '../../src/domain/partitions.js';

export interface SingleResult {
  readonly requestsPerSecond: number;
  readonly requests: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly errorSamples: readonly string[];
  readonly cpuPerRequest: CpuPerRequest;
}

/** `clients` loops each doing one `insert(client, seq)` after the other for `seconds`. */
async function closedLoop(
  clients: number,
  seconds: number,
  insert: (client: number, seq: number) => Promise<boolean>,
): Promise<Omit<SingleResult, 'cpuPerRequest' | 'errors' | 'errorSamples'>> {
  const latencies = new LatencySamples();
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let seq = 0; performance.now() < deadline; seq++) {
        const began = performance.now();
        if (await insert(client, seq)) latencies.add(performance.now() - began);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return {
    requestsPerSecond: latencies.count / elapsed,
    requests: latencies.count,
    p50Ms: latencies.percentile(50),
    p99Ms: latencies.percentile(99),
  };
}

/** `clients` clients each POSTing one point per request to `url` for `seconds`. */
export async function benchSinglePoints(
  url: string,
  clients: number,
  seconds: number,
  prefix: string,
  probes: CpuProbes,
): Promise<SingleResult> {
  const failures = new Failures();
  const base = Date.now();
  const result = await measureCpu(probes, () =>
    closedLoop(clients, seconds, async (client, seq) =>
      failures.check(
        await postMetrics(url, `metric_id=${prefix}.${client}&ts=${base + seq}&value=${seq % 100}`).catch(asError),
      ),
    ),
  );
  return { ...result, errors: failures.count, errorSamples: failures.samples };
}

/** The same single points written by the storage adapter (one prepared INSERT each), as many in flight as the HTTP clients. */
export async function benchDriverSingle(
  ctx: BenchContext,
  clients: number,
  seconds: number,
  prefix: string,
  probes: CpuProbes,
): Promise<SingleResult> {
  const failures = new Failures();
  const base = Date.now();
  const result = await measureCpu(probes, () =>
    closedLoop(clients, seconds, async (client, seq) => {
      const metricId = `${prefix}.${client}`;
      const ts = base + seq;
      try {
        await ctx.store.writePartition(metricId, samplePartition(ts), [
          { metricId, ts, value: seq % 100, writeTimeUs: Date.now() * 1000 },
        ]);
        return true;
      } catch (error) {
        failures.add(asError(error).message);
        return false;
      }
    }),
  );
  return { ...result, errors: failures.count, errorSamples: failures.samples };
}
