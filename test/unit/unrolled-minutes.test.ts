/** The roll queue as a read sees it: a shard's progress asked at most once a second, and never trusted beyond what it said. */
import { describe, expect, it } from 'vitest';
import { UnrolledMinutes } from '../../src/query/unrolled-minutes.js';
import { slotOf } from '../../src/rollup/roll-queue.js';
import type { DirtyDay, RangeReader } from '../../src/storage/ports.js';
import { UNBOUNDED } from '../../src/work-scope.js';

/** Minutes read over a reader of this progress and queue, on a clock the test moves. */
function unrolledOver(
  time: { readonly now: number },
  rolledThrough: () => Promise<number>,
  queuedFor: (slots: readonly number[]) => DirtyDay[],
): UnrolledMinutes {
  const reader = {
    rolledThrough,
    queuedFor: async (_shard: number, slots: readonly number[]) => queuedFor(slots),
  } as unknown as RangeReader;
  return new UnrolledMinutes({ reader, concurrency: 4, maxHoldMs: 0, clockMarginMs: 0, clock: () => time.now });
}

/** A shard's progress that counts how often it was asked. */
function counted(progress: { readonly slot: number; asked: number }): () => Promise<number> {
  return async () => {
    progress.asked++;
    return progress.slot;
  };
}

/** A queue that records the slots each read asked for, and holds nothing. */
function recorded(reads: number[][]): (slots: readonly number[]) => DirtyDay[] {
  return (slots) => {
    reads.push([...slots]);
    return [];
  };
}

describe('the minutes a read takes raw', () => {
  it('ask a shard its progress at most once a second, and read the queue from the progress last seen meanwhile', async () => {
    const time = { now: Date.parse('2026-12-06T12:00:00Z') };
    const progress = { slot: slotOf(time.now) - 3, asked: 0 };
    const queueReads: number[][] = [];
    const unrolled = unrolledOver(time, counted(progress), recorded(queueReads));
    await unrolled.ofMany(['m'], UNBOUNDED);
    expect(progress.asked).toBe(1);
    progress.slot += 2; // the roller moves on; within the second, the read still starts where it last saw it
    time.now += 999;
    await unrolled.ofMany(['m'], UNBOUNDED);
    expect(progress.asked).toBe(1);
    expect(queueReads[1]![0]).toBe(slotOf(time.now - 999) - 3);
    time.now += 1;
    await unrolled.ofMany(['m'], UNBOUNDED); // asked again, before the read, which starts from the new progress
    expect(progress.asked).toBe(2);
    expect(queueReads[2]![0]).toBe(progress.slot);
    await unrolled.of('m', 0, Infinity, UNBOUNDED, true); // fresh: asked whatever was seen
    expect(progress.asked).toBe(3);
    expect(queueReads[queueReads.length - 1]![0]).toBe(progress.slot);
  });

  it('read the queue from the progress asked after a large write was rolled, not from one seen while it was not', async () => {
    // A year written at once queues its minutes in the slots the roller is behind on; a read made
    // then starts there. Fifty seconds later the roller is through them: a read starting from the
    // progress seen before would take the whole year's minutes as unrolled and read them raw.
    const time = { now: Date.parse('2026-12-07T16:35:00Z') };
    const behind = slotOf(time.now) - 2;
    const progress = { slot: behind, asked: 0 };
    const queued: Array<{ slot: number; day: DirtyDay }> = [
      { slot: behind + 1, day: { metricId: 'm', day: 20_089, minutes: [0, 1, 2] } },
    ];
    const unrolled = unrolledOver(time, counted(progress), (slots) =>
      queued.filter(({ slot }) => slots.includes(slot)).map(({ day }) => day),
    );
    expect((await unrolled.ofMany(['m'], UNBOUNDED)).get('m')!.size).toBe(3);
    time.now += 50_000;
    progress.slot = slotOf(time.now); // rolled through the write's slot
    expect((await unrolled.ofMany(['m'], UNBOUNDED)).get('m')!.size).toBe(0);
    expect(await unrolled.of('m', 0, Infinity, UNBOUNDED)).toEqual([]);
    expect(progress.asked).toBe(2);
  });

  it('have searches within the second wait for the progress being asked, and ask again after a failed ask', async () => {
    const time = { now: Date.parse('2026-12-07T16:35:00Z') };
    const queueReads: number[][] = [];
    const answers: Array<{ resolve: (slot: number) => void; reject: (error: Error) => void }> = [];
    const unrolled = unrolledOver(
      time,
      () => new Promise<number>((resolve, reject) => answers.push({ resolve, reject })),
      recorded(queueReads),
    );
    const failing = [unrolled.ofMany(['m'], UNBOUNDED), unrolled.ofMany(['m'], UNBOUNDED)];
    await new Promise((resolve) => setImmediate(resolve));
    expect(answers).toHaveLength(1); // one ask for both
    answers[0]!.reject(new Error('storage unavailable'));
    for (const search of failing) await expect(search).rejects.toThrow('storage unavailable');
    const next = unrolled.ofMany(['m'], UNBOUNDED); // within the second, but the ask failed: asked again
    await new Promise((resolve) => setImmediate(resolve));
    expect(answers).toHaveLength(2);
    answers[1]!.resolve(slotOf(time.now) - 1);
    await next;
    expect(queueReads).toEqual([[slotOf(time.now) - 1, slotOf(time.now)]]);
  });
});
