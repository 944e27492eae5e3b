/**
 * A chunk of samples compressed as Gorilla compresses them (Pelkonen et al., VLDB
 * 2015; Prometheus' XOR chunks): timestamps as delta-of-delta in milliseconds,
 * values as the XOR of each float with the one before. Every value keeps its 64
 * bits exactly (-0, NaN payloads, the staleness marker, infinities); timestamps may
 * come in any order and repeat. Decoding fills typed arrays, no object per sample.
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
}

/** The problem that keeps `bytes` from being a chunk this codec wrote. */
export class ChunkFormatError extends Error {}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const [LO, HI] = LITTLE_ENDIAN ? [0, 1] : [1, 0];

/** Bits written most significant first into a growing byte array. */
class BitWriter {
  private bytes = new Uint8Array(256);
  private bitLength = 0;

  /** The low `n` (0-32) bits of `value`, a byte's worth at a time. */
  write(value: number, n: number): void {
    if (this.bitLength + n > this.bytes.length * 8) {
      const grown = new Uint8Array(this.bytes.length * 2 + 8);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    let remaining = n;
    while (remaining > 0) {
      const free = 8 - (this.bitLength & 7);
      const take = Math.min(free, remaining);
      const part = Math.floor(value / 2 ** (remaining - take)) & ((1 << take) - 1);
      this.bytes[this.bitLength >>> 3]! |= part << (free - take);
      this.bitLength += take;
      remaining -= take;
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
    return this.bytes.subarray(0, (this.bitLength + 7) >>> 3);
  }
}

class BitReader {
  private at = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly start: number,
  ) {}

  /** The next `n` (0-32) bits as an unsigned number: the five bytes that hold them, shifted into place. */
  read(n: number): number {
    const first = this.start * 8 + this.at;
    if (first + n > this.bytes.length * 8) throw new ChunkFormatError('the chunk ends inside a sample');
    this.at += n;
    if (n === 0) return 0;
    const [i, offset, bytes] = [first >>> 3, first & 7, this.bytes];
    const word =
      ((bytes[i] ?? 0) << 24) | ((bytes[i + 1] ?? 0) << 16) | ((bytes[i + 2] ?? 0) << 8) | (bytes[i + 3] ?? 0);
    const bits = (word << offset) | ((bytes[i + 4] ?? 0) >>> (8 - offset));
    return bits >>> (32 - n);
  }

  /** The next `n` (0-64) bits as [high, low] 32-bit words. */
  read64(n: number): [number, number] {
    if (n > 32) {
      const hi = this.read(n - 32);
      return [hi, this.read(32)];
    }
    return [0, this.read(n)];
  }

  /** How many of `n` leading one bits come next, reading up to and including the first zero. */
  ones(n: number): number {
    let count = 0;
    while (count < n && this.read(1) === 1) count++;
    return count;
  }
}

/** The buckets of a delta-of-delta after its prefix of ones: bits of the two's complement value. */
const DOD_BITS = [0, 14, 17, 20, 32];

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

/** [hi, lo] shifted left by `n` (0-63) bits. */
function shiftLeft(hi: number, lo: number, n: number): [number, number] {
  if (n === 0) return [hi, lo];
  if (n >= 32) return [(lo << (n - 32)) >>> 0, 0];
  return [((hi << n) | (lo >>> (32 - n))) >>> 0, (lo << n) >>> 0];
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

/** Decodes a chunk this codec wrote; throws ChunkFormatError for anything else. */
export function decodeChunk(bytes: Uint8Array): DecodedChunk {
  if (bytes[0] !== CHUNK_FORMAT_VERSION) throw new ChunkFormatError(`unknown chunk format version ${bytes[0]}`);
  const [count, start] = readUvarint(bytes, 1);
  // Every sample after the first takes at least two bits: a count past that is not this chunk's.
  if (count > 1 + (bytes.length - start) * 4) throw new ChunkFormatError(`the chunk cannot hold ${count} samples`);
  const reader = new BitReader(bytes, start);
  const ts = new Float64Array(count);
  const values = new Float64Array(count);
  const valueBits = new Uint32Array(values.buffer);
  const scratch = new Float64Array(1);
  const scratchBits = new Uint32Array(scratch.buffer);
  const readRawTimestamp = (): number => {
    [scratchBits[HI], scratchBits[LO]] = reader.read64(64);
    return scratch[0]!;
  };
  let [prevHi, prevLo, leading, trailing] = [0, 0, 0, 0];
  let [prevTs, prevDelta] = [0, 0];
  for (let i = 0; i < count; i++) {
    let [hi, lo] = [prevHi, prevLo];
    if (i === 0) {
      ts[0] = readRawTimestamp();
      [hi, lo] = reader.read64(64);
    } else {
      const bucket = reader.ones(5);
      if (bucket === 5) ts[i] = readRawTimestamp();
      else {
        const n = DOD_BITS[bucket]!;
        const raw = reader.read(n);
        const dod = n > 0 && raw >= 2 ** (n - 1) ? raw - 2 ** n : raw;
        ts[i] = prevTs + prevDelta + dod;
      }
      prevDelta = ts[i]! - prevTs;
      if (reader.read(1) === 1) {
        if (reader.read(1) === 1) {
          leading = reader.read(5);
          const meaningful = reader.read(6) || 64;
          trailing = 64 - leading - meaningful;
          if (trailing < 0) throw new ChunkFormatError('a value has more meaningful bits than a double');
        }
        const [xHi, xLo] = shiftLeft(...reader.read64(64 - leading - trailing), trailing);
        [hi, lo] = [(prevHi ^ xHi) >>> 0, (prevLo ^ xLo) >>> 0];
      }
    }
    [valueBits[2 * i + HI], valueBits[2 * i + LO]] = [hi, lo];
    [prevHi, prevLo, prevTs] = [hi, lo, ts[i]!];
  }
  return { ts, values };
}
