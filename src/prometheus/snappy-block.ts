/**
 * Snappy's block format (what Prometheus remote write sends), uncompressed a piece at
 * a time, so that what is uncompressed so far can be counted (wire-count.ts) and a
 * body refused before the rest of it is ever uncompressed. Format: a varint of the
 * uncompressed length, then elements, each a tag byte whose low two bits say what
 * follows: 0 a literal (its length in the tag, or in the 1-4 bytes after it), 1-3 a
 * copy of earlier output (length and offset in the tag and the 1, 2 or 4 bytes after).
 */
import { MeetrError } from '../errors.js';

export class SnappyError extends Error {}

/** The uncompressed length a block declares, or undefined when its first bytes are not a varint of at most 5 bytes. */
export function declaredLength(block: Uint8Array): { length: number; headerBytes: number } | undefined {
  let length = 0;
  for (let i = 0, scale = 1; i < Math.min(block.length, 5); i++, scale *= 128) {
    length += (block[i]! & 0x7f) * scale;
    if ((block[i]! & 0x80) === 0) return { length, headerBytes: i + 1 };
  }
  return undefined;
}

/** Uncompresses `block` into `out` (of its declared length) a piece at a time. */
export class SnappyBlockReader {
  readonly out: Buffer;
  /** Bytes of `out` written so far. */
  written = 0;
  private at: number;

  constructor(
    private readonly block: Uint8Array,
    maxBytes: number,
  ) {
    const header = declaredLength(block);
    if (header === undefined)
      throw new MeetrError('invalid_request', 'the body is not snappy-compressed', [
        { field: 'body', message: 'is not snappy (block format)' },
      ]);
    if (header.length > maxBytes) {
      throw new MeetrError(
        'payload_too_large',
        `the uncompressed body is larger than ${maxBytes} bytes (MEETR_MAX_BODY_BYTES)`,
        [{ field: 'body', message: `uncompressed exceeds ${maxBytes} bytes` }],
      );
    }
    this.out = Buffer.allocUnsafe(header.length);
    this.at = header.headerBytes;
  }

  get done(): boolean {
    return this.at >= this.block.length;
  }

  /** Uncompresses until at least `bytes` more are out, or the block ends; throws SnappyError on a broken block. */
  readMore(bytes: number): void {
    const { block, out } = this;
    const target = Math.min(out.length, this.written + bytes);
    if (this.written === out.length && !this.done)
      throw new SnappyError(`the block goes on past the ${out.length} bytes it declares`);
    while (this.at < block.length && this.written < target) {
      const tag = block[this.at++]!;
      const kind = tag & 3;
      if (kind === 0) {
        let length = tag >>> 2;
        if (length >= 60) {
          const extra = length - 59;
          length = 0;
          for (let i = 0; i < extra; i++) length += this.byte() * 2 ** (8 * i);
        }
        length += 1;
        if (length > block.length - this.at || length > out.length - this.written)
          throw new SnappyError('a literal runs past the block or its declared length');
        out.set(block.subarray(this.at, this.at + length), this.written);
        this.at += length;
        this.written += length;
        continue;
      }
      let length: number;
      let offset: number;
      if (kind === 1) {
        length = 4 + ((tag >>> 2) & 7);
        offset = ((tag >>> 5) << 8) | this.byte();
      } else {
        length = (tag >>> 2) + 1;
        offset = this.byte() | (this.byte() << 8);
        if (kind === 3) offset += (this.byte() | (this.byte() << 8)) * 65536;
      }
      if (offset === 0 || offset > this.written || length > out.length - this.written)
        throw new SnappyError('a copy reaches outside what was written');
      // A copy may overlap what it writes (offset < length): it repeats the last `offset` bytes. Copied in
      // steps from the same start, each as long as what lies between that start and the end so far: the
      // output keeps its period, and the steps double.
      const from = this.written - offset;
      let left = length;
      while (left > 0) {
        const step = Math.min(left, this.written - from);
        out.copyWithin(this.written, from, from + step);
        this.written += step;
        left -= step;
      }
    }
    if (this.done && this.written !== out.length)
      throw new SnappyError(`the block holds ${this.written} bytes, not the ${out.length} it declares`);
  }

  private byte(): number {
    if (this.at >= this.block.length) throw new SnappyError('an element runs past the block');
    return this.block[this.at++]!;
  }
}
