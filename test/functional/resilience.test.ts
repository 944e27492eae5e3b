/**
 * The stack under trouble, over HTTP through HAProxy: a worker killed under write
 * load, a rolling reload under load, and Cassandra stopped and started again.
 * The tests run in order; each leaves the stack healthy for the next.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { ensureLocalCassandra, stopLocalCassandra } from '../../src/devstack/local-cassandra.js';
import { eventually } from '../support/eventually.js';
import { allWorkersServe, postForm, search } from '../support/http.js';
import { PROJECT_ROOT } from '../../src/devstack/local-nodes.js';

const run = promisify(execFile);
const stack = inject('stack');

interface WorkerProcess {
  readonly pid: number;
  readonly port: number;
  readonly restarts: number;
  readonly online: boolean;
}

async function workers(): Promise<WorkerProcess[]> {
  const { stdout } = await run(join(PROJECT_ROOT, 'meetr'), ['pm2', 'jlist'], {
    env: stack.env,
    maxBuffer: 16 * 1024 * 1024,
  });
  const list = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{
    name: string;
    pid: number;
    pm2_env: { PORT: number | string; restart_time: number; status: string };
  }>;
  return list
    .filter((p) => p.name === stack.env.MEETR_APP_NAME)
    .map((p) => ({
      pid: p.pid,
      port: Number(p.pm2_env.PORT),
      restarts: p.pm2_env.restart_time,
      online: p.pm2_env.status === 'online',
    }))
    .sort((a, b) => a.port - b.port);
}

interface Written {
  readonly metric: string;
  readonly ts: number;
}

/** Clients writing one point per request, each to its own metric with increasing timestamps, until stopped. */
function writeLoad(prefix: string, clients: number) {
  const acked: Written[] = [];
  const failures: Array<Written & { status: number; body: string }> = [];
  let stopped = false;
  const base = 1_750_000_000_000;
  const loops = Array.from({ length: clients }, async (_, client) => {
    for (let seq = 0; !stopped; seq++) {
      const metric = `${prefix}.${client}`;
      const ts = base + seq * 1000;
      try {
        const answer = await postForm({ metric_id: metric, ts: String(ts), value: '1' });
        if (answer.status === 200) acked.push({ metric, ts });
        else failures.push({ metric, ts, status: answer.status, body: answer.text.slice(0, 200) });
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        failures.push({
          metric,
          ts,
          status: 0,
          body: `${String(error)}: ${cause?.code ?? ''} ${cause?.message ?? ''}`,
        });
      }
    }
  });
  return {
    acked,
    failures,
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

const minuteOf = (ts: number): number => Math.floor(ts / 60_000) * 60_000;

/** Counts by metric and minute. */
function perMinute(points: readonly Written[]): Map<string, Map<number, number>> {
  const counts = new Map<string, Map<number, number>>();
  for (const { metric, ts } of points) {
    const minutes = counts.get(metric) ?? new Map<number, number>();
    minutes.set(minuteOf(ts), (minutes.get(minuteOf(ts)) ?? 0) + 1);
    counts.set(metric, minutes);
  }
  return counts;
}

/**
 * Every acknowledged point is stored. Each metric's points are read back as counts per
 * minute (one series request per metric, not one search per point): a minute must hold
 * exactly the points acknowledged in it. A minute that also saw a failed write, which may
 * or may not have landed, is checked point by point instead.
 */
async function expectAllReadable(load: { acked: readonly Written[]; failures: readonly Written[] }): Promise<void> {
  const missing: string[] = [];
  const failed = perMinute(load.failures);
  const byPoint: Written[] = [];
  for (const [metric, minutes] of perMinute(load.acked)) {
    const starts = [...minutes.keys()];
    const answer = await search({
      metric,
      from: String(Math.min(...starts)),
      to: String(Math.max(...starts) + 59_999),
      aggregation: 'count',
      interval: '1m',
      tz: 'UTC',
    });
    const stored = new Map((answer.body?.series ?? []).map((b) => [b.ts, b.count]));
    for (const [minute, acked] of minutes) {
      if (failed.get(metric)?.has(minute) === true) continue;
      if (stored.get(minute) !== acked)
        missing.push(
          `${metric} minute ${minute}: ${stored.get(minute)} stored of ${acked} acknowledged (${answer.status})`,
        );
    }
    byPoint.push(...load.acked.filter((p) => p.metric === metric && failed.get(metric)?.has(minuteOf(p.ts)) === true));
  }
  for (let i = 0; i < byPoint.length; i += 16) {
    await Promise.all(
      byPoint.slice(i, i + 16).map(async ({ metric, ts }) => {
        const answer = await search({ metric, from: String(ts), to: String(ts), aggregation: 'count' });
        if (answer.body?.count !== 1) missing.push(`${metric}@${ts}: ${answer.status} ${answer.text}`);
      }),
    );
  }
  expect(missing).toEqual([]);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('a worker killed with SIGKILL under write load', () => {
  it('is routed around and restarted by pm2; every acknowledged point is readable', async () => {
    const before = await workers();
    expect(before.map((w) => w.port)).toEqual(stack.workerPorts);
    const load = writeLoad('kill', 4);
    await sleep(1_500);
    const victim = before[0]!;
    process.kill(victim.pid, 'SIGKILL');
    await sleep(4_000);
    await load.stop();

    await eventually(
      async () => {
        const now = await workers();
        return now.every((w) => w.online) && now[0]!.pid !== victim.pid && now[0]!.restarts > victim.restarts;
      },
      60_000,
      'pm2 restarts the killed worker',
    );
    await eventually(allWorkersServe, 30_000, 'HAProxy sends traffic to the restarted worker again');
    expect((await workers()).map((w) => w.port)).toEqual(stack.workerPorts);

    expect(load.acked.length).toBeGreaterThan(100);
    // Requests in flight on the killed worker may fail (never a 4xx); everything acknowledged must be stored.
    expect(load.failures.filter((f) => f.status >= 400 && f.status < 500)).toEqual([]);
    expect(load.failures.length).toBeLessThan(load.acked.length / 20);
    await expectAllReadable(load);
  });
});

describe('a rolling reload under load', () => {
  it('drops no request', async () => {
    const before = await workers();
    const load = writeLoad('reload', 4);
    const reads: number[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading)
        reads.push(
          (await search({ metric: 'reload.0', from: '1750000000', to: '1760000000', aggregation: 'count' })).status,
        );
    })();
    await sleep(500);
    await run(join(PROJECT_ROOT, 'meetr'), ['reload'], { env: stack.env, maxBuffer: 16 * 1024 * 1024 });
    await sleep(1_000);
    await load.stop();
    reading = false;
    await reader;

    const after = await workers();
    expect(after.map((w) => w.port)).toEqual(stack.workerPorts);
    after.forEach((worker, i) => expect(worker.pid).not.toBe(before[i]!.pid));
    expect(load.failures).toEqual([]);
    expect(reads.filter((status) => status !== 200)).toEqual([]);
    expect(load.acked.length).toBeGreaterThan(100);
    await expectAllReadable(load);
  });
});

describe('HAProxy reloaded under load', () => {
  // A reload hands the listening port to a new HAProxy process; the old one must not close
  // its clients' idle keep-alive connections while a request may be on its way into them.
  // That race is hit now and then, not every time, hence several reloads.
  it('drops no request: ./meetr up on the running stack, then more HAProxy reloads', async () => {
    const load = writeLoad('haproxy-reload', 8);
    await sleep(500);
    await run(join(PROJECT_ROOT, 'meetr'), ['up'], { env: stack.env, maxBuffer: 16 * 1024 * 1024 });
    const master = Number((await readFile(join(stack.env.MEETR_RUN_DIR!, 'haproxy.pid'), 'utf8')).trim());
    for (let i = 0; i < 5; i++) {
      await sleep(1_000);
      process.kill(master, 'SIGUSR2');
    }
    await sleep(1_000);
    await load.stop();

    expect(load.failures).toEqual([]);
    expect(load.acked.length).toBeGreaterThan(100);
    await expectAllReadable(load);
  });
});

describe('Cassandra stopped and started again', () => {
  it.runIf(stack.cassandra.managedLocally)(
    'answers 503 with Retry-After, promptly, and recovers by itself',
    async () => {
      expect((await postForm({ metric_id: 'outage', ts: '1750000000', value: '1' })).status).toBe(200);
      await stopLocalCassandra();
      try {
        for (let i = 0; i < 10; i++) {
          const started = Date.now();
          const answer = await postForm({ metric_id: 'outage', ts: String(1750000001 + i), value: '1' });
          expect(Date.now() - started).toBeLessThan(10_000);
          expect(answer.status).toBe(503);
          expect(answer.headers.get('retry-after')).toBe('1');
          expect(answer.body).toMatchObject({ error: 'storage_unavailable' });
          const searched = await search({
            metric: 'outage',
            from: '1750000000',
            to: '1750000100',
            aggregation: 'count',
          });
          expect(searched.status).toBe(503);
          expect(searched.headers.get('retry-after')).toBe('1');
          await sleep(200);
        }
      } finally {
        await ensureLocalCassandra({ runtime: 'java' });
      }
      await eventually(
        async () => (await postForm({ metric_id: 'outage', ts: '1750000050', value: '1' })).status === 200,
        90_000,
        'inserts succeed again',
      );
      await eventually(allWorkersServe, 30_000, 'every worker serves again');
      expect(
        (await search({ metric: 'outage', from: '1750000000', to: '1750000100', aggregation: 'count' })).body,
      ).toMatchObject({ count: 2 });
    },
  );
});
