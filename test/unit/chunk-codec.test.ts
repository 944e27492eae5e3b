/** The chunk codec: every sample round-trips bit for bit, whatever its value or order; foreign bytes are refused. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ChunkFormatError,
  CHUNK_FORMAT_VERSION,
  encodeChunk,
  MAX_CHUNK_TIMESTAMP,
} from '../../src/domain/chunk-codec.js';
import { decodeChunk, decodeChunkPart } from '../../src/domain/chunk-decoder.js';

/** Doubles from their 64 bits, [high, low] words, so NaN payloads are what the test chose. */
function doublesOf(words: ReadonlyArray<readonly [number, number]>): Float64Array {
  const view = new DataView(new ArrayBuffer(words.length * 8));
  words.forEach(([hi, lo], i) => {
    view.setUint32(i * 8, hi);
    view.setUint32(i * 8 + 4, lo);
  });
  const values = new Float64Array(words.length);
  const bytes = new Uint8Array(values.buffer);
  // Big-endian words into the platform's order, without a trip through a JS number.
  for (let i = 0; i < words.length; i++)
    for (let b = 0; b < 8; b++) bytes[i * 8 + b] = view.getUint8(i * 8 + (isLittleEndian ? 7 - b : b));
  return values;
}
const isLittleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const bitsOf = (values: Float64Array): number[] => [
  ...new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
];

function roundTrip(ts: readonly number[], values: Float64Array): void {
  const chunk = encodeChunk(ts, values);
  expect(chunk[0]).toBe(CHUNK_FORMAT_VERSION);
  const decoded = decodeChunk(chunk);
  expect([...decoded.ts]).toEqual(ts);
  expect(bitsOf(decoded.values)).toEqual(bitsOf(values));
  // Decoding up to a time stops at the first sample at or after it.
  for (const untilMs of [ts[0]!, ts[ts.length >> 1]!, ts[ts.length - 1]! + 1, -Infinity]) {
    const end = ts.findIndex((t) => t >= untilMs);
    const prefix = decodeChunk(chunk, untilMs);
    expect([...prefix.ts]).toEqual(ts.slice(0, end === -1 ? ts.length : end));
    expect(bitsOf(prefix.values)).toEqual(bitsOf(values.slice(0, prefix.ts.length)));
    // A part is that prefix without its leading samples before `fromMs` (on an ascending chunk, [fromMs, untilMs)).
    for (const fromMs of [ts[0]!, ts[ts.length >> 2]!, ts[ts.length - 1]!, -Infinity, Infinity]) {
      let first = 0;
      while (first < prefix.ts.length && prefix.ts[first]! < fromMs) first++;
      const part = decodeChunkPart(chunk, fromMs, untilMs);
      expect([...part.ts]).toEqual([...prefix.ts.subarray(first)]);
      expect(bitsOf(part.values)).toEqual(bitsOf(prefix.values.subarray(first)));
    }
  }
  // Decodes share a scratch: what one returned is its own, whatever is decoded after it.
  expect(bitsOf(decoded.values)).toEqual(bitsOf(values));
  expect([...decoded.ts]).toEqual(ts);
}

const word = fc.integer({ min: 0, max: 0xffff_ffff });
const SPECIAL_WORDS: Array<[number, number]> = [
  [0, 0], // +0
  [0x8000_0000, 0], // -0
  [0x7ff0_0000, 0], // +Inf
  [0xfff0_0000, 0], // -Inf
  [0x7ff8_0000, 0], // the usual NaN
  [0x7ff0_0000, 2], // Prometheus' staleness marker
  [0xfff8_0000, 1], // a negative NaN with a payload
  [0x7ff7_ffff, 0xffff_ffff], // a signalling NaN, all payload bits
  [0, 1], // the smallest subnormal
  [0x7fef_ffff, 0xffff_ffff], // the largest finite
];
const valueWords = fc.oneof(fc.tuple(word, word), fc.constantFrom(...SPECIAL_WORDS), fc.double().map(wordsOfDouble));

function wordsOfDouble(d: number): [number, number] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, d);
  return [view.getUint32(0), view.getUint32(4)];
}

describe('the chunk codec', () => {
  it('round-trips any bits and any integer timestamps, in any order, repeated or not', () => {
    const timestamp = fc.oneof(
      fc.integer({ min: -MAX_CHUNK_TIMESTAMP, max: MAX_CHUNK_TIMESTAMP }),
      fc.integer({ min: 1_700_000_000_000, max: 1_700_000_100_000 }),
      fc.constantFrom(0, MAX_CHUNK_TIMESTAMP, -MAX_CHUNK_TIMESTAMP),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(timestamp, valueWords), { maxLength: 300 }), (samples) =>
        roundTrip(
          samples.map(([t]) => t),
          doublesOf(samples.map(([, w]) => w)),
        ),
      ),
      { numRuns: 2_000 },
    );
  });

  it('round-trips scraped-like series: steady steps with jitter, gaps, counters, gauges and specials', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
        fc.array(
          fc.oneof(fc.constant(0), fc.integer({ min: -3, max: 3 }), fc.integer({ min: -9_000_000, max: 9_000_000 })),
          {
            maxLength: 500,
          },
        ),
        fc.array(
          fc.oneof(
            fc.double(),
            fc.integer().map((n) => n / 100),
            fc.constantFrom(...SPECIAL_WORDS),
          ),
          {
            maxLength: 500,
          },
        ),
        (start, jitters, rawValues) => {
          const ts = jitters.map((jitter, i) => start + i * 15_000 + jitter);
          const words = ts.map((_, i) => {
            const v = rawValues[i % Math.max(1, rawValues.length)] ?? i;
            return Array.isArray(v) ? v : wordsOfDouble(v);
          });
          roundTrip(ts, doublesOf(words));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('holds a scraped counter in about two bytes a sample, and the empty chunk in two bytes', () => {
    const ts = Array.from({ length: 1_000 }, (_, i) => 1_700_000_000_000 + i * 15_000);
    let counter = 0;
    const values = Float64Array.from(ts, (_, i) => (counter += (i * 7919) % 13));
    const perSample = encodeChunk(ts, values).length / ts.length;
    console.log(`a counter scraped every 15 s: ${perSample.toFixed(2)} bytes a sample`);
    expect(perSample).toBeLessThan(3);
    expect(encodeChunk([], new Float64Array(0))).toEqual(new Uint8Array([CHUNK_FORMAT_VERSION, 0]));
    roundTrip([], new Float64Array(0));
  });

  it('writes the bytes of format 1 exactly, as chunks already stored hold them', () => {
    // Every branch of the stream: a repeated delta, each delta-of-delta bucket and a raw timestamp, values equal,
    // within the previous window and in a new one, -0, NaN, Infinity. The bytes the first encoder wrote.
    const ts = [
      1_700_000_000_000, 1_700_000_015_000, 1_700_000_030_000, 1_700_000_045_500, 1_700_000_120_000, 1_700_000_620_000,
      1_700_010_000_000, 1_800_000_000_000, 1_800_000_000_000, 1_799_999_999_000,
    ];
    const values = Float64Array.from([1, 1, 1.5, 2.25, -0, NaN, Infinity, 1e300, 0.1, 0.30000000000000004]);
    expect(Buffer.from(encodeChunk(ts, values)).toString('hex')).toBe(
      '010a4278bcfe568000003ff0000000000000c3a98360381f4c277ffb9ccf180fc003ccfc397ffcf0043bfc040013e84f4630b8a0' +
        '000019f7e3f21e44003acff427a3185c5000000c3f418e7da51199ec077831006aaaaaaaaaaaae',
    );
    roundTrip(ts, values);
  });

  it('refuses timestamps it cannot hold exactly', () => {
    for (const bad of [1.5, NaN, Infinity, MAX_CHUNK_TIMESTAMP + 2, -MAX_CHUNK_TIMESTAMP - 2])
      expect(() => encodeChunk([0, bad], new Float64Array(2)), String(bad)).toThrow(RangeError);
    expect(() => encodeChunk([0], new Float64Array(2))).toThrow(RangeError);
  });

  it('refuses bytes it did not write with ChunkFormatError, and nothing else, whatever they are', () => {
    expect(() => decodeChunk(new Uint8Array([2, 0]))).toThrow(/version 2/);
    expect(() => decodeChunk(new Uint8Array([]))).toThrow(ChunkFormatError);
    const chunk = encodeChunk([1, 2, 3], new Float64Array([1, 2, 3]));
    for (let cut = 1; cut < chunk.length; cut++)
      expect(() => decodeChunk(chunk.subarray(0, cut))).toThrow(ChunkFormatError);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => {
        try {
          const decoded = decodeChunk(new Uint8Array([CHUNK_FORMAT_VERSION, ...tail]));
          expect(decoded.ts.length).toBe(decoded.values.length);
        } catch (error) {
          expect(error).toBeInstanceOf(ChunkFormatError);
        }
      }),
      { numRuns: 5_000 },
    );
  });
});
