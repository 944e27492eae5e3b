/**
 * A chunk of samples compressed as Gorilla compresses them (Pelkonen et al., VLDB
 * 2015; Prometheus' XOR chunks): timestamps as delta-of-delta in milliseconds,
 * values as the XOR of each float with the one before. Every value keeps its 64
 * bits exactly (-0, NaN payloads, the staleness marker, infinities); timestamps may
 * come in any order and repeat. Decoding (chunk-decoder.ts) fills typed arrays, no
 * object per sample.
 *
 * The layout: a format version byte (1), the sample count as an unsigned LEB128,
 * then one bit stream, most significant bit first:
 * - the first sample: its timestamp's and its value's 64 bits;
 * - each later timestamp by its delta-of-delta: `0` (the same delta), `10` + 14
 *   bits, `110` + 17 bits, `1110` + 20 bits, `11110` + 32 bits (two's complement),
 *   or `11111` + the timestamp's own 64 bits when the delta-of-delta is larger;
 * - each later value by its XOR with the previous: `0` (equal bits), `10` + the
 *   meaningful bits in the previous window, or `11` + 5 bits of leading zeros
 *   (at most 31), 6 bits of meaningful bits (64 written as 0) + those bits.
 * Pure.
 */

export const CHUNK_FORMAT_VERSION = 1;

/** Timestamps a chunk can hold: integers whose deltas stay exact in a double. */
export const MAX_CHUNK_TIMESTAMP = 2 ** 52;

export interface DecodedChunk {
  /** Milliseconds, in the order they were encoded. */
  readonly ts: Float64Array;
  /** The values, bit for bit as encoded (read them through their bits when NaN payloads matter). */
  readonly values: Float64Array;
  /** True when every value is known to be finite (no special sample): unsealing need not look. */
  readonly finite?: boolean;
}

/** The problem that keeps `bytes` from being a chunk this codec wrote. */
export class ChunkFormatError extends Error {}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** The indexes of a double's low and high 32 bits in a Uint32Array over it. */
export const [LO, HI] = LITTLE_ENDIAN ? [0, 1] : [1, 0];

/** Bits written most significant first into a growing byte array. */
class BitWriter {
  private bytes = new Uint8Array(256);
  /** Whole bytes written. */
  private length = 0;
  /** The bits not yet a whole byte (fewer than 8), in the low `pending` bits. */
  private partial = 0;
  private pending = 0;

  /** The low `n` (0-32) bits of `value` (a non-negative integer below 2^32), up to 24 at a time. */
  write(value: number, n: number): void {
    if (this.length + 5 > this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    let remaining = n;
    while (remaining > 0) {
      const take = remaining > 24 ? 24 : remaining;
      remaining -= take;
      let bits = (this.partial << take) | ((value >>> remaining) & ((1 << take) - 1));
      let count = this.pending + take;
      while (count >= 8) {
        count -= 8;
        this.bytes[this.length++] = bits >>> count;
        bits &= (1 << count) - 1;
      }
      [this.partial, this.pending] = [bits, count];
    }
  }

  /** A 64-bit word given as its high and low 32 bits, the low `n` (0-64) bits of it. */
  write64(hi: number, lo: number, n: number): void {
    if (n > 32) {
      this.write(hi, n - 32);
      this.write(lo, 32);
    } else this.write(lo, n);
  }

  finish(): Uint8Array {
    if (this.pending === 0) return this.bytes.subarray(0, this.length);
    this.bytes[this.length] = this.partial << (8 - this.pending);
    return this.bytes.subarray(0, this.length + 1);
  }
}

/** The buckets of a delta-of-delta after its prefix of ones: bits of the two's complement value. */
export const DOD_BITS = [0, 14, 17, 20, 32];

function leadingZeros(hi: number, lo: number): number {
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
}

function trailingZeros(hi: number, lo: number): number {
  if (lo !== 0) return 31 - Math.clz32(lo & -lo);
  return hi !== 0 ? 32 + 31 - Math.clz32(hi & -hi) : 64;
}

/** [hi, lo] shifted right by `n` (0-63) bits. */
function shiftRight(hi: number, lo: number, n: number): [number, number] {
  if (n === 0) return [hi, lo];
  if (n >= 32) return [0, hi >>> (n - 32)];
  return [hi >>> n, ((lo >>> n) | (hi << (32 - n))) >>> 0];
}

function writeUvarint(out: number[], value: number): void {
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
}

function checkTimestamp(t: number): void {
  if (!Number.isInteger(t) || Math.abs(t) > MAX_CHUNK_TIMESTAMP)
    throw new RangeError(`a chunk holds integer millisecond timestamps up to 2^52 in size, not ${t}`);
}

/** Writes a timestamp's own 64 bits (as a double: exact for every integer a chunk holds). */
function writeRawTimestamp(writer: BitWriter, t: number, scratch: Float64Array, bits: Uint32Array): void {
  scratch[0] = t;
  writer.write64(bits[HI]!, bits[LO]!, 64);
}

/** Encodes samples (`ts[i]`, `values[i]`) into a chunk. */
export function encodeChunk(ts: ArrayLike<number>, values: Float64Array): Uint8Array {
  if (ts.length !== values.length) throw new RangeError('a chunk needs as many values as timestamps');
  const header: number[] = [CHUNK_FORMAT_VERSION];
  writeUvarint(header, ts.length);
  const writer = new BitWriter();
  const valueBits = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
  const scratch = new Float64Array(1);
  const scratchBits = new Uint32Array(scratch.buffer);
  let [prevHi, prevLo, prevLeading, prevTrailing] = [0, 0, -1, 0];
  let [prevTs, prevDelta] = [0, 0];
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i]!;
    checkTimestamp(t);
    const [hi, lo] = [valueBits[2 * i + HI]!, valueBits[2 * i + LO]!];
    if (i === 0) {
      writeRawTimestamp(writer, t, scratch, scratchBits);
      writer.write64(hi, lo, 64);
    } else {
      const delta = t - prevTs;
      writeDeltaOfDelta(writer, delta - prevDelta, t, scratch, scratchBits);
      prevDelta = delta;
      const [xorHi, xorLo] = [(hi ^ prevHi) >>> 0, (lo ^ prevLo) >>> 0];
      if (xorHi === 0 && xorLo === 0) writer.write(0, 1);
      else {
        const leading = Math.min(31, leadingZeros(xorHi, xorLo));
        const trailing = trailingZeros(xorHi, xorLo);
        if (prevLeading >= 0 && leading >= prevLeading && trailing >= prevTrailing) {
          writer.write(0b10, 2);
          const [mHi, mLo] = shiftRight(xorHi, xorLo, prevTrailing);
          writer.write64(mHi, mLo, 64 - prevLeading - prevTrailing);
        } else {
          const meaningful = 64 - leading - trailing;
          writer.write(0b11, 2);
          writer.write(leading, 5);
          writer.write(meaningful & 63, 6);
          const [mHi, mLo] = shiftRight(xorHi, xorLo, trailing);
          writer.write64(mHi, mLo, meaningful);
          [prevLeading, prevTrailing] = [leading, trailing];
        }
      }
    }
    [prevHi, prevLo, prevTs] = [hi, lo, t];
  }
  const body = writer.finish();
  const chunk = new Uint8Array(header.length + body.length);
  chunk.set(header);
  chunk.set(body, header.length);
  return chunk;
}

function writeDeltaOfDelta(writer: BitWriter, dod: number, t: number, scratch: Float64Array, bits: Uint32Array): void {
  if (dod === 0) return writer.write(0, 1);
  for (let bucket = 1; bucket < DOD_BITS.length; bucket++) {
    const n = DOD_BITS[bucket]!;
    if (dod >= -(2 ** (n - 1)) && dod < 2 ** (n - 1)) {
      writer.write((1 << (bucket + 1)) - 2, bucket + 1); // `bucket` ones and a zero
      writer.write(dod < 0 ? dod + 2 ** n : dod, n);
      return;
    }
  }
  writer.write(0b11111, 5);
  writeRawTimestamp(writer, t, scratch, bits);
}
