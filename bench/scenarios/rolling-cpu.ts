/**
 * The roller's CPU a point, all told: its own process and what its reads and
 * writes cost Cassandra, beside the CPU the API spent taking the same points.
 *
 * The share of throughput that ingest.ts measures charges the roller for whatever
 * it rolls during a round, and a round (about 15 s) is shorter than a write's hold
 * (about 45 s, README "Roller"): a round's own points are rolled during the steps
 * after it, and a round after one with the roller stopped rolls that round's
 * backlog too. This charges the roller for one backlog exactly: the roller stopped,
 * the points through the API, every hold over, then the roller started and timed
 * until it has rolled them all.
 */
import { GATHER_SLOTS, SLOT_MS } from '../../src/rollup/roll-queue.js';
import type { BenchContext } from '../context.js';
import { measureCpu, type CpuPerRequest, type CpuProbes } from '../cpu-probes.js';
import { postAll } from '../failures.js';
import { cpuSecondsOf } from '../process-cpu.js';

export interface RollingCpu {
  /** The points acknowledged. */
  readonly points: number;
  /** What the roller reports it read: each point once when nothing was rolled twice. */
  readonly pointsRead: number;
  /** From the roller's start to its last read. */
  readonly seconds: number;
  /** µs a point: the roller's process (its start-up included) and Cassandra's CPU beyond its idle rate meanwhile. */
  readonly rollerUs: number;
  readonly cassandraUs: number;
  /** The API's CPU a point taking them, the roller stopped: workers, HAProxy, Cassandra, the bench's client. */
  readonly api: CpuPerRequest;
  /** The roller's part of the CPU a point costs to take and roll. */
  readonly share: number;
}

/** How long Cassandra is sampled idle, to subtract its idle rate. */
const IDLE_SAMPLE_MS = 3_000;
/** The roller is done once it has read nothing more for this long, and no slot waits longer than its gathering. */
const QUIET_MS = 2_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function measureRollingCpu(
  ctx: BenchContext,
  probes: CpuProbes,
  options: {
    readonly bodies: readonly string[];
    readonly points: number;
    /** Points a body. */
    readonly batch: number;
    readonly clients: number;
  },
): Promise<RollingCpu> {
  const { roller } = ctx;
  const cassandra = (): number => cpuSecondsOf(probes.cassandraPids) ?? Number.NaN;
  await roller.stop();
  let api: CpuPerRequest;
  /** The points acknowledged (a batch shed for overload is not; its points are rolled if any landed). */
  let points: number;
  try {
    ctx.progress(`rolling: ${options.points} points through HAProxy, the roller stopped`);
    ({ cpuPerRequest: api, requests: points } = await measureCpu(probes, async () => {
      const posted = await postAll(ctx.apiUrl, options.bodies, options.clients, () => undefined);
      return { requests: options.points - posted.failures.count * options.batch };
    }));
    ctx.progress(`rolling: waiting ${Math.round(roller.dueAfterMs / 1000)} s for every hold to end`);
    await sleep(roller.dueAfterMs);
  } catch (error) {
    await roller.start();
    throw error;
  }
  const idleFrom = cassandra();
  await sleep(IDLE_SAMPLE_MS);
  const idlePerSecond = (cassandra() - idleFrom) / (IDLE_SAMPLE_MS / 1000);
  const cassandraFrom = cassandra();
  const started = performance.now();
  ctx.progress('rolling: the roller started, timed until it has rolled them');
  await roller.start();
  let read = -1;
  let readAt = performance.now();
  for (;;) {
    const now = await roller.pointsRead();
    if (now !== read) [read, readAt] = [now, performance.now()];
    if (
      read > 0 &&
      performance.now() - readAt >= QUIET_MS &&
      (await roller.lagSeconds()) < (GATHER_SLOTS * SLOT_MS) / 1000
    )
      break;
    await sleep(250);
  }
  const seconds = (readAt - started) / 1000;
  const rollerSeconds = roller.cpuSeconds() ?? Number.NaN;
  const cassandraSeconds = cassandra() - cassandraFrom - idlePerSecond * ((performance.now() - started) / 1000);
  const perPoint = (cpuSeconds: number): number => (cpuSeconds / points) * 1e6;
  const [rollerUs, cassandraUs] = [perPoint(rollerSeconds), perPoint(cassandraSeconds)];
  const apiUs = (api.workersUs ?? 0) + (api.haproxyUs ?? 0) + (api.cassandraUs ?? 0) + api.clientUs;
  return {
    points,
    pointsRead: read,
    seconds,
    rollerUs,
    cassandraUs,
    api,
    share: (rollerUs + cassandraUs) / (rollerUs + cassandraUs + apiUs),
  };
}
