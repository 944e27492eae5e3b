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
});
