/** The roll queue as a read sees it: a shard's progress asked at most once a second, and never trusted beyond what it said. */
import { describe, expect, it } from 'vitest';
import { UnrolledMinutes } from '../../src/query/unrolled-minutes.js';
import { slotOf } from '../../src/rollup/roll-queue.js';
import type { DirtyDay, RangeReader } from '../../src/storage/ports.js';
import { UNBOUNDED } from '../../src/work-scope.js';

describe('the minutes a read takes raw', () => {
  it('ask a shard its progress at most once a second, and read the queue from the progress last seen meanwhile', async () => {
    const time = { now: Date.parse('2026-12-06T12:00:00Z') };
    const progress = { slot: slotOf(time.now) - 3, asked: 0 };
    const queueReads: number[][] = [];
    const reader = {
      rolledThrough: async () => {
        progress.asked++;
        return progress.slot;
      },
      queuedFor: async (_shard: number, slots: readonly number[]): Promise<DirtyDay[]> => {
        queueReads.push([...slots]);
        return [];
      },
    } as unknown as RangeReader;
    const unrolled = new UnrolledMinutes({
      reader,
      concurrency: 4,
      maxHoldMs: 0,
      clockMarginMs: 0,
      clock: () => time.now,
    });
    await unrolled.ofMany(['m'], UNBOUNDED);
    expect(progress.asked).toBe(1);
    progress.slot += 2; // the roller moves on; within the second, the read still starts where it last saw it
    time.now += 999;
    await unrolled.ofMany(['m'], UNBOUNDED);
    expect(progress.asked).toBe(1);
    expect(queueReads[1]![0]).toBe(slotOf(time.now - 999) - 3);
    time.now += 1;
    await unrolled.ofMany(['m'], UNBOUNDED); // asked again, and the read after it starts from the new progress
    expect(progress.asked).toBe(2);
    await unrolled.of('m', 0, Infinity, UNBOUNDED, true); // fresh: asked whatever was seen
    expect(progress.asked).toBe(3);
    expect(queueReads[queueReads.length - 1]![0]).toBe(progress.slot);
  });
});
