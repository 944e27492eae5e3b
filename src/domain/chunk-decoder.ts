/**
 * Decoding chunks (the format: chunk-codec.ts) into typed arrays: one pass over the
 * stream with the bit position and the previous sample in locals, into a scratch
 * that is grown as needed and reused (decoding is synchronous), so a decode
 * allocates only the copy of what its caller keeps and a PromQL read of tens of
 * thousands of chunks leaves little for the collector. Pure.
 */
import { CHUNK_FORMAT_VERSION, ChunkFormatError, DOD_BITS, HI, LO, type DecodedChunk } from './chunk-codec.js';

/** Bytes of zeros after a stream being decoded: a damaged chunk fails its length check, never an index. */
const READ_PADDING_BYTES = 24;

function scratchFor(bodyBytes: number, samples: number) {
  const [body, word, values] = [new Uint8Array(bodyBytes), new Float64Array(1), new Float64Array(samples)];
  return {
    body,
    view: new DataView(body.buffer),
    ts: new Float64Array(samples),
    values,
    bits: new Uint32Array(values.buffer),
    word,
    wordBits: new Uint32Array(word.buffer),
  };
}

const scratch = scratchFor(1024, 256);

/** The sign bit of each delta-of-delta bucket's field, and the field's range: its two's complement read back. */
const DOD_HALF = DOD_BITS.map((n) => (n === 0 ? 0 : 2 ** (n - 1)));
const DOD_RANGE = DOD_BITS.map((n) => 2 ** n);

/**
 * Decodes a chunk this codec wrote, up to its first sample at or after `untilMs`
 * (a read of the start of an hour decodes no further); throws ChunkFormatError for
 * anything else.
 */
export function decodeChunk(bytes: Uint8Array, untilMs = Infinity): DecodedChunk {
  return decodeChunkPart(bytes, -Infinity, untilMs);
}

/**
 * What decodeChunk(bytes, untilMs) holds, from its first sample at or after `fromMs`
 * on: of an ascending chunk (as the roller seals them) the samples of
 * [fromMs, untilMs), so a read of an hour's last minutes keeps those, not the hour.
 */
export function decodeChunkPart(bytes: Uint8Array, fromMs: number, untilMs: number): DecodedChunk {
  const n = decodeIntoScratch(bytes, untilMs);
  let first = 0;
  while (first < n && scratch.ts[first]! < fromMs) first++;
  return { ts: carve(scratch.ts, first, n), values: carve(scratch.values, first, n) };
}

/**
 * Decoded samples leave the scratch as views carved out of a shared slab, not each
 * in a buffer of its own: a read of a few minutes of an hour is a few hundred bytes,
 * and a typed array's own buffer is an allocation outside the heap that also pushes
 * the collector (a month's rate at a 1h step makes 144,000 such reads). The slab is
 * freed once no view of it is left. Long runs get their own buffer.
 */
const SLAB_LENGTH = 1 << 16;
const slab = { samples: new Float64Array(0), used: 0 };

function carve(source: Float64Array, from: number, to: number): Float64Array {
  const n = to - from;
  if (n > SLAB_LENGTH >> 4) return source.slice(from, to);
  if (slab.used + n > slab.samples.length) [slab.samples, slab.used] = [new Float64Array(SLAB_LENGTH), 0];
  const out = slab.samples.subarray(slab.used, slab.used + n);
  for (let i = 0; i < n; i++) out[i] = source[from + i]!;
  slab.used += n;
  return out;
}

function readUvarint(bytes: Uint8Array, at: number): [value: number, next: number] {
  let [value, scale, i] = [0, 1, at];
  for (;;) {
    if (i >= bytes.length || i - at > 7) throw new ChunkFormatError('the chunk has no whole sample count');
    const byte = bytes[i++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, i];
    scale *= 0x80;
  }
}

/** Checks a chunk's header and copies its stream into the scratch; returns its sample count and its length in bits. */
function load(bytes: Uint8Array): { count: number; end: number } {
  if (bytes[0] !== CHUNK_FORMAT_VERSION) throw new ChunkFormatError(`unknown chunk format version ${bytes[0]}`);
  const [count, start] = readUvarint(bytes, 1);
  // Every sample after the first takes at least two bits: a count past that is not this chunk's.
  if (count > 1 + (bytes.length - start) * 4) throw new ChunkFormatError(`the chunk cannot hold ${count} samples`);
  const length = bytes.length - start;
  if (scratch.body.length < length + READ_PADDING_BYTES || scratch.ts.length < count)
    Object.assign(scratch, scratchFor(2 * (length + READ_PADDING_BYTES), 2 * count));
  scratch.body.set(bytes.subarray(start));
  scratch.body.fill(0, length, length + READ_PADDING_BYTES);
  return { count, end: length * 8 };
}

/** The 32 bits of a stream from bit `pos` on, as an unsigned number. */
function peek(body: Uint8Array, view: DataView, pos: number): number {
  const i = pos >>> 3;
  const offset = pos & 7;
  const high = view.getUint32(i);
  return offset === 0 ? high : ((high << offset) | (body[i + 4]! >>> (8 - offset))) >>> 0;
}

/** A timestamp's own 64 bits (a double) from bit `pos` on. */
function rawTimestamp(pos: number): number {
  const { body, view, word, wordBits } = scratch;
  wordBits[HI] = peek(body, view, pos);
  wordBits[LO] = peek(body, view, pos + 32);
  return word[0]!;
}

/** Decodes into the scratch up to the first sample at or after `untilMs`; returns how many samples it holds. */
function decodeIntoScratch(bytes: Uint8Array, untilMs: number): number {
  const { count, end } = load(bytes);
  const { body, view, ts, bits } = scratch;
  if (count === 0) return 0;
  let [pos, hi, lo, leading, trailing] = [128, peek(body, view, 64), peek(body, view, 96), 0, 0];
  let [prevTs, prevDelta] = [rawTimestamp(0), 0];
  if (prevTs >= untilMs) return 0;
  if (pos > end) throw new ChunkFormatError('the chunk ends inside a sample');
  [ts[0], bits[HI], bits[LO]] = [prevTs, hi, lo];
  for (let i = 1; i < count; i++) {
    let t = prevTs + prevDelta;
    const ones = Math.min(5, Math.clz32(~peek(body, view, pos)));
    if (ones === 5) {
      t = rawTimestamp(pos + 5);
      pos += 69;
    } else if (ones === 0) pos += 1;
    else {
      const field = peek(body, view, pos + ones + 1) >>> (32 - DOD_BITS[ones]!);
      pos += ones + 1 + DOD_BITS[ones]!;
      t += field >= DOD_HALF[ones]! ? field - DOD_RANGE[ones]! : field;
    }
    prevDelta = t - prevTs;
    // The value: `0` the same bits, `10` in the previous window, `11` in a new one.
    const control = peek(body, view, pos) >>> 30;
    pos += control < 2 ? 1 : 2;
    if (control >= 2) {
      if (control === 3) {
        const header = peek(body, view, pos);
        leading = header >>> 27;
        trailing = 64 - leading - ((header >>> 21) & 63 || 64);
        if (trailing < 0) throw new ChunkFormatError('a value has more meaningful bits than a double');
        pos += 11;
      }
      const n = 64 - leading - trailing;
      const mHi = n > 32 ? peek(body, view, pos) >>> (64 - n) : 0;
      const mLo = n > 32 ? peek(body, view, pos + n - 32) : peek(body, view, pos) >>> (32 - n);
      pos += n;
      if (trailing >= 32) hi = (hi ^ (mLo << (trailing - 32))) >>> 0;
      else if (trailing > 0) {
        hi = (hi ^ ((mHi << trailing) | (mLo >>> (32 - trailing)))) >>> 0;
        lo = (lo ^ (mLo << trailing)) >>> 0;
      } else {
        hi = (hi ^ mHi) >>> 0;
        lo = (lo ^ mLo) >>> 0;
      }
    }
    if (t >= untilMs) return i;
    if (pos > end) throw new ChunkFormatError('the chunk ends inside a sample');
    // Plain stores, not a destructuring: that makes an array (and boxes t) per sample.
    ts[i] = t;
    bits[2 * i + HI] = hi;
    bits[2 * i + LO] = lo;
    prevTs = t;
  }
  return count;
}
