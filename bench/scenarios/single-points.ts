/** Single-point inserts: one point per form POST, as Meetr's clients write. */
import { asError, Failures } from '../failures.js';
import { postMetrics } from '../http-client.js';
import { LatencySamples } from '../latency.js';

export interface SingleResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly errorSamples: readonly string[];
}

/** `clients` clients each POSTing one point per request for `seconds`. */
export async function benchSinglePoints(url: string, clients: number, seconds: number, prefix: string): Promise<SingleResult> {
  const latencies = new LatencySamples();
  const failures = new Failures();
  const deadline = performance.now() + seconds * 1000;
  const base = Date.now();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let seq = 0; performance.now() < deadline; seq++) {
        const began = performance.now();
        const answer = await postMetrics(url, `metric_id=${prefix}.${client}&ts=${base + seq}&value=${seq % 100}`).catch(asError);
        if (failures.check(answer)) latencies.add(performance.now() - began);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return {
    requestsPerSecond: latencies.count / elapsed,
    p50Ms: latencies.percentile(50),
    p99Ms: latencies.percentile(99),
    errors: failures.count,
    errorSamples: failures.samples,
  };
}
