import { cpuSecondsOf, ownCpuSeconds } from './process-cpu.js';
import { workerMetric } from './worker-metrics.js';

/** Where CPU goes, per request, during one measured run; undefined where a process could not be read. */
export interface CpuPerRequest {
  readonly workersUs: number | undefined;
  readonly haproxyUs: number | undefined;
  readonly cassandraUs: number | undefined;
  /** The bench's own client (load generation), this process. */
  readonly clientUs: number;
}

/** The processes whose CPU a run is charged to. */
export interface CpuProbes {
  /** The workers' telemetry listeners. */
  readonly telemetryUrls: readonly string[];
  readonly haproxyPids: readonly number[];
  readonly cassandraPids: readonly number[];
}

interface CpuSample {
  readonly workers: number | undefined;
  readonly haproxy: number | undefined;
  readonly cassandra: number | undefined;
  readonly client: number;
}

async function sample(probes: CpuProbes): Promise<CpuSample> {
  const perWorker = await Promise.all(
    probes.telemetryUrls.map((url) => workerMetric(url, 'process_cpu_seconds_total')),
  );
  return {
    workers:
      perWorker.some((s) => s === undefined) || perWorker.length === 0
        ? undefined
        : perWorker.reduce((a, b) => a! + b!, 0),
    haproxy: cpuSecondsOf(probes.haproxyPids),
    cassandra: cpuSecondsOf(probes.cassandraPids),
    client: ownCpuSeconds(),
  };
}

/** Runs `work`, which returns how many requests it completed, and charges the CPU spent meanwhile to them. */
export async function measureCpu<T extends { readonly requests: number }>(
  probes: CpuProbes,
  work: () => Promise<T>,
): Promise<T & { readonly cpuPerRequest: CpuPerRequest }> {
  const before = await sample(probes);
  const result = await work();
  const after = await sample(probes);
  const per = (a: number | undefined, b: number | undefined): number | undefined =>
    a === undefined || b === undefined || result.requests === 0 ? undefined : ((b - a) / result.requests) * 1e6;
  return {
    ...result,
    cpuPerRequest: {
      workersUs: per(before.workers, after.workers),
      haproxyUs: per(before.haproxy, after.haproxy),
      cassandraUs: per(before.cassandra, after.cassandra),
      clientUs: per(before.client, after.client) ?? Number.NaN,
    },
  };
}
