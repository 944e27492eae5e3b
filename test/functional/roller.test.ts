/**
 * The roller in the real stack, from outside: it runs under pm2 beside the workers,
 * reports its shards and lag, rolls what was written, and while it is stopped
 * searches stay exact (reading points); a second roller shares the work.
 * The tests run in order; each leaves the stack as it found it.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { ExactSum } from '../../src/domain/exact-sum.js';
import { eventually } from '../support/eventually.js';
import { postJson, search } from '../support/http.js';
import { PROJECT_ROOT } from '../../src/devstack/local-nodes.js';

const run = promisify(execFile);
const stack = inject('stack');
const meetr = (args: string[], env: Record<string, string> = {}) =>
  run(join(PROJECT_ROOT, 'meetr'), args, { env: { ...stack.env, ...env }, maxBuffer: 16 * 1024 * 1024 });

interface RollerHealth {
  readonly status: string;
  readonly shards: number[];
  readonly lagSeconds: number;
}

async function health(port = stack.rollerPort): Promise<RollerHealth> {
  return (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as RollerHealth;
}

async function counter(name: string, port = stack.rollerPort): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

const day = Date.parse('2024-01-02T00:00:00Z');
const points = (metric: string, n: number, offset = 0) =>
  Array.from({ length: n }, (_, i) => ({ metric_id: metric, ts: day + offset + i * 97_000, value: (i % 7) + 0.1 }));
/** The exact sum, rounded once (ExactSum is checked against integer arithmetic in test/unit/exact-sum.test.ts). */
const exactSum = (values: number[]): number => values.reduce((sum, v) => sum.plus(ExactSum.of(v)), ExactSum.ZERO).value;

describe('the roller', () => {
  it('runs beside the workers, holds every shard, and reports itself in ./meetr status', async () => {
    await eventually(
      async () => (await health().catch(() => undefined))?.shards.length === 16,
      30_000,
      'the roller to hold all 16 shards',
    );
    const { stdout } = await meetr(['status']);
    expect(stdout).toMatch(
      new RegExp(`roller :${stack.rollerPort}: ok, shards 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15, lag \\d+\\.\\d s`),
    );
  });

  it('rolls what was written, about half a minute later, and answers from rollups exactly what it answered from points', async () => {
    const before = await counter('meetr_roller_minutes_rolled_total');
    const written = points('roller.f1', 200);
    expect((await postJson(written)).status).toBe(200);
    const params = { metric: 'roller.f1', from: String(day), to: String(day + 86_400_000 - 1), aggregation: 'sum' };
    const first = (await search(params)).body;
    expect(first).toMatchObject({ count: 200 });
    await eventually(
      async () => (await counter('meetr_roller_minutes_rolled_total')) >= before + 200,
      90_000,
      'the roller to roll 200 minutes',
    );
    expect((await search(params)).body).toEqual(first);
    expect((await search({ ...params, interval: '1h' })).body).toMatchObject({ count: 200 });
    expect((await health()).lagSeconds).toBeLessThan(60);
  });

  it('while stopped leaves searches exact (they read the points), and catches up once started', async () => {
    await meetr(['pm2', 'stop', `${stack.env.MEETR_APP_NAME}-roller`]);
    try {
      const written = points('roller.f2', 150, 3_600_000);
      const late = points('roller.f2', 10, 3_600_000 + 50);
      expect((await postJson(written)).status).toBe(200);
      const params = { metric: 'roller.f2', from: String(day), to: String(day + 86_400_000 - 1), aggregation: 'count' };
      expect((await search(params)).body).toMatchObject({ value: 150, count: 150 });
      expect((await postJson(late)).status).toBe(200); // late writes into the same minutes
      expect((await search(params)).body).toMatchObject({ value: 160, count: 160 });
      expect((await search({ ...params, aggregation: 'sum' })).body).toMatchObject({
        count: 160,
        value: exactSum([...written, ...late].map((p) => p.value)),
      });
    } finally {
      await meetr(['pm2', 'start', `${stack.env.MEETR_APP_NAME}-roller`]);
    }
    await eventually(
      async () => (await health().catch(() => undefined))?.shards.length === 16,
      60_000,
      'the restarted roller to take its shards back',
    );
    await eventually(async () => (await health()).lagSeconds === 0, 90_000, 'the roller to catch up');
    expect(
      (await search({ metric: 'roller.f2', from: String(day), to: String(day + 86_400_000 - 1), aggregation: 'count' }))
        .body,
    ).toMatchObject({ count: 160 });
  });

  it('shares the shards with a second roller started by ./meetr up', async () => {
    await meetr(['up'], { MEETR_ROLLERS: '2' });
    try {
      await eventually(
        async () => {
          const both = await Promise.all([health(), health(stack.rollerPort + 1)].map((h) => h.catch(() => undefined)));
          return both.every((h) => h?.shards.length === 8);
        },
        60_000,
        'two rollers holding 8 shards each',
      );
      const [a, b] = [await health(), await health(stack.rollerPort + 1)];
      expect(new Set([...a.shards, ...b.shards]).size).toBe(16);
    } finally {
      await meetr(['up'], { MEETR_ROLLERS: '1' });
    }
    await eventually(
      async () => (await health().catch(() => undefined))?.shards.length === 16,
      60_000,
      'one roller holding every shard again',
    );
  });
});
