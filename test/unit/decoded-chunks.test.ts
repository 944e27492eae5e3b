/**
 * Decoded chunks a worker keeps (query/decoded-chunks.ts): a kept decode is used
 * only for the very bytes it was decoded from, within a bound on samples, the
 * least recently used let go first. That reads through it equal a scan of the
 * points under reseals is sealed-hours.test.ts' property.
 */
import { describe, expect, it } from 'vitest';
import { encodeChunk } from '../../src/domain/chunk-codec.js';
import { decodeChunk } from '../../src/domain/chunk-decoder.js';
import { DecodedChunks } from '../../src/query/decoded-chunks.js';
import { sharedChunks, type PointRead } from '../../src/query/hour-reads.js';

const HOUR = 3_600_000;

function chunk(samples: number, value = 1): Uint8Array {
  const ts = Array.from({ length: samples }, (_, i) => HOUR + i * 15_000);
  return encodeChunk(
    ts,
    Float64Array.from(ts, (_, i) => value + i),
  );
}

describe('decoded chunks kept by a worker', () => {
  it('give what decoding the bytes gives, and the kept decode only for the same bytes', () => {
    const cache = new DecodedChunks(1_000);
    const [first, resealed] = [chunk(10), chunk(10, 2)];
    const decoded = cache.decode('m', 1, first);
    expect(Array.from(decoded.values)).toEqual(Array.from(decodeChunk(first).values));
    expect(cache.decode('m', 1, Uint8Array.from(first))).toBe(decoded);
    expect(cache.get('m', 1, resealed)).toBeUndefined();
    expect(Array.from(cache.decode('m', 1, resealed).values)).toEqual(Array.from(decodeChunk(resealed).values));
    expect(cache.get('m', 1, first)).toBeUndefined();
    expect(cache.get('m', 2, resealed)).toBeUndefined();
    expect(cache.get('n', 1, resealed)).toBeUndefined();
    expect(cache.size).toBe(10);
  });

  it('keep a copy of the bytes, not the buffer they were read into', () => {
    const cache = new DecodedChunks(1_000);
    const bytes = chunk(10);
    const decoded = cache.decode('m', 1, bytes);
    const original = Uint8Array.from(bytes);
    bytes.set(chunk(10, 5));
    expect(cache.get('m', 1, bytes)).toBeUndefined();
    expect(cache.get('m', 1, original)).toBe(decoded);
  });

  it('say whether every value is finite, so that special samples are looked for where there are some', () => {
    const cache = new DecodedChunks(1_000);
    expect(cache.decode('m', 1, chunk(4)).finite).toBe(true);
    const special = encodeChunk([HOUR, HOUR + 1], Float64Array.of(1, Infinity));
    expect(cache.decode('m', 2, special).finite).toBe(false);
  });

  it('stay within their bound, letting the least recently used go first, and keep none bigger than it', () => {
    const cache = new DecodedChunks(100);
    const chunks = [chunk(30), chunk(30, 2), chunk(30, 3)];
    chunks.forEach((bytes, hour) => cache.decode('m', hour, bytes));
    expect(cache.size).toBe(90);
    expect(cache.get('m', 0, chunks[0]!)).toBeDefined();
    cache.decode('m', 3, chunk(30, 4));
    expect(cache.size).toBeLessThanOrEqual(100);
    expect(cache.get('m', 1, chunks[1]!)).toBeUndefined();
    expect(cache.get('m', 0, chunks[0]!)).toBeDefined();
    cache.decode('m', 4, chunk(101));
    expect(cache.get('m', 4, chunk(101))).toBeUndefined();
    expect(cache.size).toBeLessThanOrEqual(100);
  });

  it('are kept by one read up to half their bound, so that a long range does not push out the rest', () => {
    const cache = new DecodedChunks(100);
    const hours = Array.from({ length: 8 }, (_, hour) => hour);
    const chunks = new Map(hours.map((hour) => [hour, chunk(20, hour)]));
    const reads: PointRead[] = hours.map((hour) => ({
      query: 0,
      partition: hour,
      fromMs: hour * HOUR,
      toMs: (hour + 1) * HOUR,
      ts: [],
      values: [],
      special: [],
    }));
    const chunkOf = sharedChunks([{ metricId: 'm', fromMs: 0, toMs: 8 * HOUR }], reads, [chunks], cache);
    /** `d` for a read given a decode, `s` for one given the chunk as stored. */
    const kinds = (take: typeof chunkOf): string =>
      reads.map((read, i) => (take(read, i) instanceof Uint8Array ? 's' : 'd')).join('');
    // Whole hours are decoded and kept until the read has kept 50 samples; the others are left as stored.
    expect(kinds(chunkOf)).toBe('dddsssss');
    expect(cache.size).toBe(60);
    // A later read of the same hours finds those kept, and keeps its own share of the others.
    expect(kinds(sharedChunks([{ metricId: 'm', fromMs: 0, toMs: 8 * HOUR }], reads, [chunks], cache))).toBe(
      'ddddddss',
    );
    // Hours 3 to 5 pushed out the least recently used within the bound.
    expect(cache.size).toBe(80);
    expect(cache.get('m', 0, chunks.get(0)!)).toBeUndefined();
    expect(cache.get('m', 5, chunks.get(5)!)).toBeDefined();
  });
});
