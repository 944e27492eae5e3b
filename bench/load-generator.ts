/**
 * A steady synthetic load against any meetr: `rate` points per second in batches of
 * `batch`, spread over `metrics` metrics, for `durationSeconds`. Requests are sent
 * on a schedule (not as fast as answers come back), so a slow server shows up as
 * latency and a lower achieved rate rather than hiding it.
 */
import { formBatchBody } from './dataset.js';
import { postMetrics } from './http-client.js';
import { LatencySamples } from './latency.js';
import { seededRandom } from './random.js';

export interface LoadOptions {
  readonly target: string;
  readonly rate: number;
  readonly metrics: number;
  readonly durationSeconds: number;
  readonly batch: number;
  readonly seed: number;
  readonly reportEverySeconds?: number;
  /** Requests in flight at most; past it the schedule slips and the report says so. */
  readonly maxInFlight?: number;
  readonly report?: (interval: LoadInterval) => void;
}

export interface LoadInterval {
  readonly elapsedSeconds: number;
  readonly pointsPerSecond: number;
  readonly requests: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly inFlight: number;
}

export interface LoadSummary {
  readonly targetPointsPerSecond: number;
  readonly achievedPointsPerSecond: number;
  readonly requests: number;
  readonly pointsWritten: number;
  readonly errors: number;
  readonly errorSamples: string[];
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadSummary> {
  const {
    target,
    rate,
    metrics,
    durationSeconds,
    batch,
    seed,
    reportEverySeconds = 5,
    maxInFlight = 256,
    report = () => undefined,
  } = options;
  const random = seededRandom(seed);
  const requestsPerSecond = rate / batch;
  const all = new LatencySamples();
  let interval = new LatencySamples();
  let sent = 0;
  let inFlight = 0;
  let errors = 0;
  let intervalErrors = 0;
  let written = 0;
  let intervalPoints = 0;
  const errorSamples: string[] = [];
  const pending = new Set<Promise<void>>();
  let tsCounter = Date.now();

  const send = (): void => {
    const points = Array.from({ length: batch }, () => ({
      metricId: `load.${Math.floor(random() * metrics)}`,
      ts: tsCounter++,
      value: Math.round(random() * 10_000) / 100,
    }));
    const body = formBatchBody(points);
    const began = performance.now();
    inFlight++;
    const request = postMetrics(target, body)
      .then((response) => {
        if (response.status === 200) {
          written += batch;
          intervalPoints += batch;
          const ms = performance.now() - began;
          all.add(ms);
          interval.add(ms);
        } else {
          errors++;
          intervalErrors++;
          if (errorSamples.length < 5) errorSamples.push(`${response.status} ${response.body.slice(0, 200)}`);
        }
      })
      .catch((error: unknown) => {
        errors++;
        intervalErrors++;
        if (errorSamples.length < 5) errorSamples.push(String(error));
      })
      .finally(() => {
        inFlight--;
        pending.delete(request);
      });
    pending.add(request);
  };

  const started = performance.now();
  let lastReport = started;
  while (performance.now() - started < durationSeconds * 1000) {
    const due = Math.floor(((performance.now() - started) / 1000) * requestsPerSecond);
    while (sent < due && inFlight < maxInFlight) {
      send();
      sent++;
    }
    const now = performance.now();
    if (now - lastReport >= reportEverySeconds * 1000) {
      const taken = interval;
      interval = new LatencySamples();
      report({
        elapsedSeconds: (now - started) / 1000,
        pointsPerSecond: intervalPoints / ((now - lastReport) / 1000),
        requests: taken.count,
        errors: intervalErrors,
        p50Ms: taken.percentile(50),
        p95Ms: taken.percentile(95),
        p99Ms: taken.percentile(99),
        inFlight,
      });
      intervalPoints = 0;
      intervalErrors = 0;
      lastReport = now;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - started) / 1000;
  return {
    targetPointsPerSecond: rate,
    achievedPointsPerSecond: written / elapsed,
    requests: sent,
    pointsWritten: written,
    errors,
    errorSamples,
    p50Ms: all.percentile(50),
    p95Ms: all.percentile(95),
    p99Ms: all.percentile(99),
  };
}
