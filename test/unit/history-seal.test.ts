/**
 * Sealing history over the in-memory store: hours written before sealed chunks
 * existed (raw rows, no chunk) are sealed once, read from their chunks after,
 * equal to a scan of the points before and after, also when a late write's reseal
 * races a history seal that read before it. (On Cassandra: test/integration/chunks.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { decodeChunk } from '../../src/domain/chunk-decoder.js';
import { chunkPeriod } from '../../src/domain/partitions.js';
import { historyState, sealHistory, type HistoryPass } from '../../src/roller/history-seal.js';
import { SEAL_AFTER_MS } from '../../src/roller/hour-seal.js';
import { META_KEYS, type RollupStore } from '../../src/storage/ports.js';
import { UNBOUNDED } from '../../src/work-scope.js';
import { rollingWorld } from '../support/rolling-world.js';
import { TEST_CLOCK_MARGIN_MS, TEST_MAX_HOLD_MS } from '../support/services.js';

const HOUR = 3_600_000;
const base = Date.parse('2024-03-09T00:00:00Z');

/** Three hours of `a` written as an earlier version did (rows only), and the fourth still open. */
async function history() {
  const w = rollingWorld(base + 3 * HOUR + 20 * 60_000);
  for (let hour = 0; hour < 4; hour++) {
    const points = Array.from({ length: hour === 3 ? 40 : 240 }, (_, i) => ({
      metricId: 'a',
      ts: base + hour * HOUR + i * 15_000,
      value: (hour * 7 + i) % 11,
      writeTimeUs: 1,
    }));
    await w.store.writePartition('a', base / HOUR + hour, points);
    const stored = w.raw.get('a') ?? new Map<number, number>();
    for (const { ts, value } of points) stored.set(ts, value);
    w.raw.set('a', stored);
  }
  const pass = (store: RollupStore = w.store, mayGoOn = () => true): HistoryPass => ({
    store,
    clock: () => w.clock.now,
    marginMs: TEST_CLOCK_MARGIN_MS,
    concurrency: 2,
    mayGoOn,
  });
  const read = async () => {
    const [samples] = await w.search.samples(
      [{ metricId: 'a', fromMs: base, toMs: base + 4 * HOUR - 1 }],
      1e6,
      UNBOUNDED,
    );
    return { ts: [...samples!.ts], values: [...samples!.values] };
  };
  const expected = () => {
    const points = [...w.raw.get('a')!].sort(([x], [y]) => x - y);
    return { ts: points.map(([ts]) => ts), values: points.map(([, value]) => value) };
  };
  return { w, pass, read, expected };
}

describe('sealing history', () => {
  it('seals each hour that is over and has no chunk, once, and is then read from the chunks', async () => {
    const { w, pass, read, expected } = await history();
    expect(await read()).toEqual(expected());
    expect(await historyState(w.store)).toBe('pending');
    expect(await sealHistory(pass())).toEqual({ hours: 4, sealed: 3 });
    expect(await historyState(w.store)).toBe('sealed');
    const chunks = await w.store.readChunks(['a'], chunkPeriod(base / HOUR), base / HOUR, base / HOUR + 3);
    expect(chunks.map(({ hour }) => hour - base / HOUR)).toEqual([0, 1, 2]); // the open hour is left to the roller
    expect(decodeChunk(chunks[1]!.bytes).ts).toHaveLength(240);
    const scans = w.store.calls.scanPoints;
    expect(await read()).toEqual(expected());
    expect(w.store.calls.scanPoints - scans).toBe(1); // the open hour only
    // A second pass finds nothing left.
    expect(await sealHistory(pass())).toEqual({ hours: 4, sealed: 0 });
    // The open hour was left to the roller, which seals it once it is over, though nothing more is written to it.
    w.clock.now = base + 4 * HOUR + SEAL_AFTER_MS + TEST_MAX_HOLD_MS + 10_000;
    await w.roller.balance();
    await w.roller.rollDue();
    const [open] = await w.store.readChunksAt('a', chunkPeriod(base / HOUR), [base / HOUR + 3]);
    expect(decodeChunk(open!.bytes).ts).toHaveLength(40);
    expect(await read()).toEqual(expected());
  });

  it('waits for a copy of an older layout under way, and records nothing when cut short', async () => {
    const { w, pass } = await history();
    await w.store.writeMeta(META_KEYS.legacyCopyStarted, '1');
    expect(await historyState(w.store)).toBe('waiting');
    await w.store.writeMeta(META_KEYS.legacyCopied, '2');
    expect(await historyState(w.store)).toBe('pending');
    let checks = 0;
    expect(await sealHistory(pass(w.store, () => ++checks < 3))).toBeUndefined();
    expect(await historyState(w.store)).toBe('pending');
    expect(await sealHistory(pass())).toEqual({ hours: 4, sealed: 3 });
    expect(await historyState(w.store)).toBe('sealed');
  });

  it('loses to a late write’s reseal whose reads began after its own, whichever is written last', async () => {
    const { w, pass, read, expected } = await history();
    // A history seal that has read hour 1's rows waits before writing its chunk...
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let waiting = (): void => undefined;
    const readDone = new Promise<void>((resolve) => (waiting = resolve));
    const slow: RollupStore = Object.create(w.store) as RollupStore;
    slow.scanPoints = async (...args) => {
      const count = await w.store.scanPoints(...args);
      if (args[1] === base / HOUR + 1) {
        waiting();
        await gate;
      }
      return count;
    };
    slow.readChunksAt = async (metricId, period, hours) =>
      hours[0] === base / HOUR + 1 ? [] : w.store.readChunksAt(metricId, period, hours);
    const sealing = sealHistory(pass(slow));
    await readDone;
    // ...while a late write lands in that hour and the roller reseals it.
    await w.write('a', [[base + HOUR + 7_000, 99]]);
    w.clock.now += TEST_MAX_HOLD_MS + 10_000;
    await w.roller.balance();
    await w.roller.rollDue();
    release();
    await sealing;
    const [chunk] = await w.store.readChunksAt('a', chunkPeriod(base / HOUR), [base / HOUR + 1]);
    expect(decodeChunk(chunk!.bytes).ts).toContain(base + HOUR + 7_000);
    expect(await read()).toEqual(expected());
  });
});
