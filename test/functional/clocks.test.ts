/**
 * The clocks tier: workers and rollers of the real stack run under Debian's
 * libfaketime (the faketime package) ahead of and behind Cassandra's clock, beside the stack's
 * own processes and on its keyspace. Past MEETR_MAX_CLOCK_SKEW_MS a process
 * refuses and says why; within it, and across a shard handed over between rollers
 * whose clocks are 5 s apart, every search equals a scan of the points.
 * Searches go to processes that share the writers' settings (holds and margins
 * come from them).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { ExactSum } from '../../src/domain/exact-sum.js';
import { eventually } from '../support/eventually.js';
import { postJson, search } from '../support/http.js';
import { PROJECT_ROOT } from '../../src/devstack/local-nodes.js';
import { shardOf } from '../../src/rollup/roll-queue.js';

const run = promisify(execFile);
const stack = inject('stack');
const meetr = (args: string[]) =>
  run(join(PROJECT_ROOT, 'meetr'), args, { env: stack.env, maxBuffer: 16 * 1024 * 1024 });

/** Settings of the processes a test starts with a wider bound: short request and storage timeouts keep holds, and so the test, short. */
const WIDE = { MEETR_REQUEST_TIMEOUT_MS: '4000', MEETR_STORAGE_TIMEOUT_MS: '1000' };
const started: ChildProcess[] = [];

/** Starts dist/main.js (a worker) or dist/roller-main.js under faketime, `skewSeconds` off, on `port`. */
async function startSkewed(
  kind: 'worker' | 'roller',
  port: number,
  skewSeconds: number,
  env: Record<string, string> = {},
): Promise<ChildProcess> {
  const script = join(PROJECT_ROOT, 'dist', kind === 'worker' ? 'main.js' : 'roller-main.js');
  const portEnv =
    kind === 'worker'
      ? { PORT: String(port), MEETR_TELEMETRY_PORT: String(port + 1000) }
      : { MEETR_ROLLER_PORT: String(port), NODE_APP_INSTANCE: '0' };
  // libfaketime preloaded as Debian's faketime command does, but into node itself: the command forks, and a
  // signal to it would not reach the process (which must shut down and give its leases back).
  const fake = {
    LD_PRELOAD: '/usr/$LIB/faketime/libfaketime.so.1',
    FAKETIME: `${skewSeconds >= 0 ? '+' : ''}${skewSeconds}s`,
  };
  const child = spawn(process.execPath, [script], {
    env: { ...stack.env, ...portEnv, ...env, ...fake },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  started.push(child);
  await eventually(
    async () => (await fetch(`http://127.0.0.1:${port}/health`)).status > 0,
    60_000,
    `the ${kind} ${skewSeconds} s off to answer on ${port}: ${output.join('')}`,
  );
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(kill);
}

// Whatever a test started is stopped after it, passed or failed: a process left over would hold shards in the next.
afterEach(async () => {
  await Promise.all(started.splice(0).map(stop));
});

async function health(port: number): Promise<{
  status: number;
  body: Record<string, unknown> & {
    clock?: { offsetMs: number; withinBound: boolean };
    shards?: number[];
    lagSeconds?: number;
    shardLags?: Record<string, number>;
  };
}> {
  const response = await fetch(`http://127.0.0.1:${port}/health`);
  return { status: response.status, body: (await response.json()) as never };
}

async function direct(
  port: number,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, init);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const sumOf = (values: number[]): number => values.reduce((sum, v) => sum.plus(ExactSum.of(v)), ExactSum.ZERO).value;

describe('a worker or a roller whose clock is past MEETR_MAX_CLOCK_SKEW_MS (1 s)', () => {
  it('refuses writes, searches and rolling with 503 clock_skew naming the skew, and shows it on /health and /metrics', async () => {
    const skews = [120, -120, 10, -10];
    await Promise.all(skews.map((skew, i) => startSkewed('worker', 19101 + i, skew)));
    const rollerSkews = [120, -120, 10, -10];
    await Promise.all(rollerSkews.map((skew, i) => startSkewed('roller', 19451 + i, skew)));
    for (const [i, skew] of skews.entries()) {
      const port = 19101 + i;
      const side = skew > 0 ? 'ahead of' : 'behind';
      const write = await direct(port, '/1.0/metrics', {
        method: 'POST',
        body: new URLSearchParams({ metric_id: 'clocks.refused', ts: String(Date.now()), value: '1' }),
      });
      expect(write).toMatchObject({
        status: 503,
        body: { error: 'clock_skew', message: expect.stringContaining(`${side} Cassandra's`) },
      });
      expect(write.body.message).toMatch(/MEETR_MAX_CLOCK_SKEW_MS \(1000 ms\)/);
      expect(
        (await direct(port, `/1.0/metrics?metric=clocks.refused&from=0&to=${Date.now()}&aggregation=sum`)).status,
      ).toBe(503);
      const h = await health(port);
      expect(h.status).toBe(503);
      expect(Math.abs(h.body.clock!.offsetMs + skew * 1000)).toBeLessThan(1_000);
      expect(await (await fetch(`http://127.0.0.1:${port + 1000}/metrics`)).text()).toMatch(
        /meetr_clock_within_bound\{[^}]*\} 0/,
      );
    }
    for (const [i, skew] of rollerSkews.entries()) {
      const roller = await health(19451 + i);
      expect(roller).toMatchObject({
        status: 503,
        body: {
          status: 'clock_skew',
          shards: [],
          message: expect.stringContaining(`${skew > 0 ? 'ahead of' : 'behind'} Cassandra's`),
        },
      });
      expect(await (await fetch(`http://127.0.0.1:${19451 + i}/metrics`)).text()).toMatch(
        /meetr_clock_within_bound\{[^}]*\} 0/,
      );
    }
    // Nothing was written; the stack's own processes are within the bound, as ./meetr status shows.
    expect(
      (await search({ metric: 'clocks.refused', from: '0', to: String(Date.now() + 86_400_000), aggregation: 'count' }))
        .body,
    ).toMatchObject({ count: 0 });
    // The stack's roller may have been restarted just before (the bench smoke stops and starts it): its shards first.
    await eventually(
      async () => ((await health(stack.rollerPort)).body.shards?.length ?? 0) > 0,
      90_000,
      "the stack's roller to hold its shards",
    );
    const { stdout } = await meetr(['status']);
    expect(stdout).toMatch(
      new RegExp(`worker :${stack.workerPorts[0]}: ok, clock (behind|ahead of) Cassandra by \\d+(\\.\\d)? ms`),
    );
    expect(stdout).toMatch(
      new RegExp(
        `roller :${stack.rollerPort}: ok, shards [0-9,]+, lag \\d+\\.\\d s, clock (behind|ahead of) Cassandra by`,
      ),
    );
  });
});

describe('processes whose clocks are within a bound that covers them', () => {
  it('workers 10 s ahead and behind and a roller 10 s behind answer every search as a scan of the points, before and after rolling', async () => {
    const wide = { ...WIDE, MEETR_MAX_CLOCK_SKEW_MS: '15000' };
    await Promise.all([
      startSkewed('worker', 19111, 10, wide),
      startSkewed('worker', 19112, -10, wide),
      startSkewed('roller', 19461, -10, { MEETR_MAX_CLOCK_SKEW_MS: '15000' }), // its storage timeout as the stack's: it may take a backlog
    ]);
    const now = Date.now();
    const points = Array.from({ length: 60 }, (_, i) => ({
      metric_id: 'clocks.within',
      ts: now - 300_000 + i * 5_000,
      value: (i % 9) + 0.25,
    }));
    for (const [i, point] of points.entries()) {
      const port = i % 2 === 0 ? 19111 : 19112;
      expect(
        (
          await direct(port, '/1.0/metrics', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(point),
          })
        ).status,
      ).toBe(200);
    }
    const lastWrite = Date.now();
    const expected = { value: sumOf(points.map((p) => p.value)), count: 60 };
    const query = `/1.0/metrics?metric=clocks.within&from=${now - 3_600_000}&to=${now + 3_600_000}&aggregation=sum`;
    for (const port of [19111, 19112]) expect((await direct(port, query)).body).toMatchObject(expected);
    // Rolled: by the stack's roller and the skewed one, which took a share once the margin (30 s) had passed on its clock.
    await eventually(
      async () => ((await health(19461)).body.shards?.length ?? 0) > 0,
      90_000,
      'the roller 10 s behind to take a share',
    );
    // The last write's minutes were queued in a slot ending by its hold (4 + 4 + 30 + 10 s) and a slot (5 s) after it
    // on a clock up to 10 s ahead; a roller rolls a slot once its margin (30 s here, 2 s for the stack's) has passed on
    // its clock (10 s behind here). A shard's lag is how long ago, less the margin, the oldest slot not rolled ended:
    // small enough, that slot is after the writes. The metric's own shard, whichever roller holds it (another may
    // still be catching up on minutes the tiers before wrote).
    const shard = String(shardOf('clocks.within'));
    const rolledPast = (lagSeconds: number): boolean =>
      (Date.now() - lastWrite) / 1000 - (10 + 48 + 5) - (10 + 30) >= lagSeconds;
    const shardLag = async (): Promise<number | undefined> => {
      for (const port of [19461, stack.rollerPort]) {
        const lags = (await health(port).catch(() => undefined))?.body.shardLags;
        if (lags?.[shard] !== undefined) return lags[shard];
      }
      return undefined;
    };
    await eventually(
      async () => rolledPast((await shardLag()) ?? Infinity),
      240_000,
      `the shard of clocks.within (${shard}) to be rolled past the writes`,
    ).catch(async (error: unknown) => {
      throw new Error(
        `${String(error)}: ${JSON.stringify((await health(19461)).body)}; the stack's roller: ${JSON.stringify((await health(stack.rollerPort).catch(() => undefined))?.body)}`,
      );
    });
    for (const port of [19111, 19112]) expect((await direct(port, query)).body).toMatchObject(expected);
  }, 420_000);
});

describe('a shard handed over between rollers whose clocks are 5 s apart', () => {
  it('keeps the later computation: a search after both rolled equals a scan of the points', async () => {
    const bound = { MEETR_MAX_CLOCK_SKEW_MS: '6000' };
    const day = Date.parse('2024-02-03T00:00:00Z');
    const first = Array.from({ length: 40 }, (_, i) => ({
      metric_id: `clocks.handover.${i % 4}`,
      ts: day + i * 61_000,
      value: i + 0.5,
    }));
    const second = first.map((p) => ({ ...p, ts: p.ts + 17, value: p.value * 3 })); // the same minutes, written again
    const count = async (metric: string) =>
      (await search({ metric, from: String(day), to: String(day + 86_400_000 - 1), aggregation: 'sum' })).body;
    const expected = (metric: string) => {
      const values = [...first, ...second].filter((p) => p.metric_id === metric).map((p) => p.value);
      return { value: sumOf(values), count: values.length };
    };
    await meetr(['pm2', 'stop', `${stack.env.MEETR_APP_NAME}-roller`]);
    try {
      const ahead = await startSkewed('roller', 19471, 5, bound);
      await eventually(
        async () => (await health(19471)).body.shards?.length === 16,
        90_000,
        'the roller 5 s ahead to hold every shard',
      ).catch(async (error: unknown) => {
        throw new Error(
          `${String(error)}: ${JSON.stringify((await health(19471)).body)}; the stack's roller: ${JSON.stringify((await health(stack.rollerPort).catch(() => undefined))?.body)}`,
        );
      });
      expect((await postJson(first)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 50_000)); // the stack's longest hold (20 + 12 + 2 + 10 s), and the margin
      await eventually(
        async () => (await health(19471)).body.lagSeconds === 0,
        60_000,
        'the roller 5 s ahead to roll the first points',
      );
      expect((await postJson(second)).status).toBe(200);
      await stop(ahead); // gives its leases back, as a reload does
      await startSkewed('roller', 19472, 0, bound);
      await eventually(
        async () => (await health(19472)).body.shards?.length === 16,
        90_000,
        'the roller 5 s behind it to take every shard',
      );
      await new Promise((resolve) => setTimeout(resolve, 50_000));
      await eventually(
        async () => (await health(19472)).body.lagSeconds === 0,
        60_000,
        'the second roller to roll the second points',
      );
      for (let i = 0; i < 4; i++)
        expect(await count(`clocks.handover.${i}`)).toMatchObject(expected(`clocks.handover.${i}`));
    } finally {
      await Promise.all(started.splice(0).map(stop));
      await meetr(['pm2', 'start', `${stack.env.MEETR_APP_NAME}-roller`]);
    }
    await eventually(
      async () => (await health(stack.rollerPort).catch(() => undefined))?.body.shards?.length === 16,
      90_000,
      "the stack's roller to take its shards back",
    );
  }, 420_000);
});
