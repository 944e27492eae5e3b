/** forEachBounded and settleAll: bounds, first failure, nothing left running. */
import { describe, expect, it } from 'vitest';
import { forEachBounded, settleAll } from '../../src/concurrency.js';

const tick = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('forEachBounded', () => {
  it('never has more than the limit in flight and visits every item once', async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    await forEachBounded(
      Array.from({ length: 20 }, (_, i) => i),
      3,
      async (item) => {
        peak = Math.max(peak, ++inFlight);
        await tick(item % 3);
        seen.push(item);
        inFlight--;
      },
    );
    expect(peak).toBe(3);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('rejects with the first failure, starts nothing after it, and waits for the running ones', async () => {
    const started: number[] = [];
    let finished = 0;
    const run = forEachBounded([0, 1, 2, 3, 4, 5], 2, async (item) => {
      started.push(item);
      if (item === 1) throw new Error('first');
      await tick(5);
      finished++;
    });
    await expect(run).rejects.toThrow('first');
    expect(started).toEqual([0, 1]);
    expect(finished).toBe(1); // item 0 was awaited before the rejection
  });
});

describe('settleAll', () => {
  it('waits for every promise before rejecting with the first failure', async () => {
    let slowDone = false;
    const slow = tick(10).then(() => {
      slowDone = true;
    });
    await expect(settleAll([Promise.reject(new Error('fast')), slow])).rejects.toThrow('fast');
    expect(slowDone).toBe(true);
  });
});
