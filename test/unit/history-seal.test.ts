/**
 * Sealing history over the in-memory store: hours written before sealed chunks
 * existed (raw rows with no TTL, no chunk) are sealed once, read from their chunks
 * after, equal to a scan of the points before and after, also when a late write's
 * reseal races a history seal that read before it; their rows are then dropped
 * once every write they may hold is rolled and their chunks are old enough, and
 * answers stay the same. (On Cassandra: test/integration/chunks.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { decodeChunk } from '../../src/domain/chunk-decoder.js';
import { chunkPeriod } from '../../src/domain/partitions.js';
import {
  DROP_AFTER_MS,
  dropHistoryRows,
  historyState,
  historyToDrop,
  sealHistory,
  type HistoryPass,
} from '../../src/roller/history-seal.js';
import { SEAL_AFTER_MS } from '../../src/roller/hour-seal.js';
import { META_KEYS, type HistoryStore } from '../../src/storage/history-ports.js';
import type { StampedPoint } from '../../src/storage/ports.js';
import { UNBOUNDED } from '../../src/work-scope.js';
import { rollingWorld } from '../support/rolling-world.js';
import { TEST_CLOCK_MARGIN_MS, TEST_MAX_HOLD_MS } from '../support/services.js';

const HOUR = 3_600_000;
const base = Date.parse('2024-03-09T00:00:00Z');

/** The epoch hour `h` hours after `base`. */
const hourOf = (h: number) => base / HOUR + h;

/** Rows of `a` in hour `h` with no TTL, as an earlier version (or a writer past the API) wrote them. */
async function writeWithNoTtl(w: ReturnType<typeof rollingWorld>, h: number, points: StampedPoint[]) {
  w.store.raw.rowsExpire = false;
  await w.store.writePartition('a', hourOf(h), points);
  w.store.raw.rowsExpire = true;
}

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
    await writeWithNoTtl(w, hour, points);
    const stored = w.raw.get('a') ?? new Map<number, number>();
    for (const { ts, value } of points) stored.set(ts, value);
    w.raw.set('a', stored);
  }
  const pass = (store: HistoryStore = w.store, mayGoOn = () => true): HistoryPass => ({
    store,
    clock: () => w.clock.now,
    marginMs: TEST_CLOCK_MARGIN_MS,
    concurrency: 2,
    mayGoOn,
  });
  const read = async (fromMs = base) => {
    const [samples] = await w.search.samples([{ metricId: 'a', fromMs, toMs: base + 4 * HOUR - 1 }], 1e6, UNBOUNDED);
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
    const slow: HistoryStore = Object.create(w.store) as HistoryStore;
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

  it('drops the rows of sealed hours that carry no TTL once every write they may hold is rolled, later writes kept', async () => {
    const { w, pass, read, expected } = await history();
    // Hour 2 of `b`, written by this version: its rows expire on their own.
    await w.write('b', [[base + 2 * HOUR + 5_000, 1]]);
    const rollAt = async (now: number) => {
      w.clock.now = now;
      await w.roller.balance();
      await w.roller.rollDue();
    };
    expect(await sealHistory(pass())).toEqual({ hours: 5, sealed: 4 }); // `b` too: its minute is not rolled yet
    const sealedAtMs = await historyToDrop(w.store);
    expect(sealedAtMs).toBe(w.clock.now);
    const drop = () =>
      dropHistoryRows({ ...pass(), sealedAtMs: sealedAtMs!, maxHoldMs: TEST_MAX_HOLD_MS, rawRetentionMs: undefined });
    // Not yet: writes queued before history was sealed may not be rolled.
    expect(await drop()).toBeUndefined();
    // The roller seals the hour that was open, and a late write lands in hour 1 and is resealed.
    await rollAt(base + 4 * HOUR + SEAL_AFTER_MS + TEST_MAX_HOLD_MS + 10_000);
    await w.write('a', [[base + HOUR + 7_000, 99]]);
    await rollAt(w.clock.now + TEST_MAX_HOLD_MS + 10_000);
    // Hours 0 and 2 were sealed by the history pass long enough ago; 1 and 3 were sealed just now.
    await rollAt(sealedAtMs! + DROP_AFTER_MS + TEST_MAX_HOLD_MS);
    expect(await drop()).toEqual({ hours: 5, dropped: 2, left: 2, unsealed: 0 });
    expect(await historyToDrop(w.store)).toBe(sealedAtMs);
    expect(w.store.raw.points('a', hourOf(0), 0, Infinity)).toEqual([]);
    expect(w.store.raw.points('a', hourOf(1), 0, Infinity)).toHaveLength(241);
    expect(await read()).toEqual(expected());
    // An hour later every chunk is old enough: all of `a` goes but the late write, written after history was sealed.
    await rollAt(w.clock.now + DROP_AFTER_MS);
    expect(await drop()).toEqual({ hours: 3, dropped: 2, left: 0, unsealed: 0 });
    expect(await historyToDrop(w.store)).toBeUndefined();
    expect(w.store.raw.points('a', hourOf(1), 0, Infinity)).toEqual([[base + HOUR + 7_000, 99]]);
    expect(w.store.raw.points('a', hourOf(3), 0, Infinity)).toEqual([]);
    expect(w.store.raw.points('b', hourOf(2), 0, Infinity)).toHaveLength(1);
    expect(await read()).toEqual(expected());
    // A write to a dropped hour after the drop is kept, read and resealed as any late write.
    await w.write('a', [[base + 3 * HOUR + 1_000, -5]]);
    expect(await read()).toEqual(expected());
    await rollAt(w.clock.now + TEST_MAX_HOLD_MS + 10_000);
    w.store.expireRaw();
    expect(await read()).toEqual(expected());
  });

  it('drops rows with no TTL past raw retention though their chunks expired with them, whenever written', async () => {
    const { w, pass } = await history();
    expect(await sealHistory(pass())).toEqual({ hours: 4, sealed: 3 });
    const sealedAtMs = (await historyToDrop(w.store))!;
    w.clock.now = base + 4 * HOUR + SEAL_AFTER_MS + TEST_MAX_HOLD_MS + 10_000;
    await w.roller.balance();
    await w.roller.rollDue();
    // A row with no TTL written into hour 0 after history was sealed: past retention, it goes too.
    await writeWithNoTtl(w, 0, [{ metricId: 'a', ts: base + 1, value: 3, writeTimeUs: w.clock.now * 1000 }]);
    // Kept for 2 h 30 min: hours 0 and 1 are past it, hours 2 and 3 are not, and their chunks too young to drop.
    const drop = await dropHistoryRows({
      ...pass(),
      sealedAtMs,
      maxHoldMs: TEST_MAX_HOLD_MS,
      rawRetentionMs: w.clock.now - (base + 2 * HOUR) - 30 * 60_000,
    });
    expect(drop).toEqual({ hours: 4, dropped: 2, left: 2, unsealed: 0 });
    const hours = [];
    for await (const { hour } of w.store.sampleHours()) hours.push(hour - base / HOUR);
    expect(hours.sort()).toEqual([2, 3]);
  });

  it('keeps the rows of an hour no minute was queued for, which has no chunk, and does not wait for it', async () => {
    const { w, pass, read, expected } = await history();
    expect(await sealHistory(pass())).toEqual({ hours: 4, sealed: 3 });
    const sealedAtMs = (await historyToDrop(w.store))!;
    // Rows with no TTL written straight to the table after history was sealed, into an hour of their own.
    await writeWithNoTtl(w, -1, [{ metricId: 'a', ts: base - HOUR + 5, value: 8, writeTimeUs: w.clock.now * 1000 }]);
    w.raw.get('a')!.set(base - HOUR + 5, 8);
    w.clock.now = sealedAtMs + DROP_AFTER_MS + SEAL_AFTER_MS + TEST_MAX_HOLD_MS + 10_000;
    await w.roller.balance();
    await w.roller.rollDue();
    const drop = () =>
      dropHistoryRows({ ...pass(), sealedAtMs, maxHoldMs: TEST_MAX_HOLD_MS, rawRetentionMs: undefined });
    expect(await drop()).toEqual({ hours: 5, dropped: 3, left: 1, unsealed: 1 }); // hour 3 was sealed by the roller just now
    w.clock.now += DROP_AFTER_MS;
    await w.roller.balance();
    await w.roller.rollDue();
    expect(await drop()).toEqual({ hours: 2, dropped: 1, left: 0, unsealed: 1 });
    expect(await historyToDrop(w.store)).toBeUndefined();
    expect(w.store.raw.points('a', hourOf(-1), 0, Infinity)).toEqual([[base - HOUR + 5, 8]]);
    expect(await read(base - HOUR)).toEqual(expected());
    expect(await read()).toEqual({ ts: expected().ts.slice(1), values: expected().values.slice(1) });
  });
});
