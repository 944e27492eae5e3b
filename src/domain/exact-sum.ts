/**
 * The exact sum of finite doubles, kept as `mantissa * 2^exponent` with a BigInt
 * mantissa. Every double is an integer multiple of a power of two, so the sum of
 * any number of them is exact here, and `value` rounds it once (to nearest, ties to
 * even). The answer therefore does not depend on the order points were added or
 * how they were grouped: a sum built from stored rollups equals the sum of a scan
 * of the raw points to the last bit.
 */

/** Decomposes a finite double into an integer mantissa and a power of two: x = m * 2^e, |m| < 2^53. */
const scratch = new DataView(new ArrayBuffer(8));

function decompose(x: number): { mantissa: bigint; exponent: number } {
  scratch.setFloat64(0, x);
  const high = scratch.getUint32(0);
  const low = scratch.getUint32(4);
  const biased = (high >>> 20) & 0x7ff;
  const fraction = (BigInt(high & 0xfffff) << 32n) | BigInt(low);
  const magnitude = biased === 0 ? fraction : fraction | (1n << 52n);
  const exponent = (biased === 0 ? 1 : biased) - 1075;
  return { mantissa: high >>> 31 === 1 ? -magnitude : magnitude, exponent };
}

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/** m * 2^e as a double, m having at most 54 bits and the product representable (or beyond the largest double). */
function scale(m: bigint, e: number): number {
  let value = Number(m);
  // Powers of two are applied in steps that stay normal, so each multiplication is exact.
  while (e > 1000) {
    value *= 2 ** 1000;
    e -= 1000;
  }
  while (e < -1000) {
    value *= 2 ** -1000;
    e += 1000;
  }
  return value * 2 ** e;
}

export class ExactSum {
  static readonly ZERO = new ExactSum(0n, 0);

  private constructor(
    /** The sum is mantissa * 2^exponent. */
    readonly mantissa: bigint,
    readonly exponent: number,
  ) {}

  static of(x: number): ExactSum {
    if (x === 0) return ExactSum.ZERO;
    const { mantissa, exponent } = decompose(x);
    return new ExactSum(mantissa, exponent);
  }

  /** Rebuilds a sum from its stored parts. */
  static fromParts(mantissa: bigint, exponent: number): ExactSum {
    return mantissa === 0n ? ExactSum.ZERO : new ExactSum(mantissa, exponent);
  }

  plus(other: ExactSum): ExactSum {
    if (other.mantissa === 0n) return this;
    if (this.mantissa === 0n) return other;
    const exponent = Math.min(this.exponent, other.exponent);
    const mantissa =
      (this.mantissa << BigInt(this.exponent - exponent)) + (other.mantissa << BigInt(other.exponent - exponent));
    return ExactSum.fromParts(mantissa, exponent);
  }

  /** The sum rounded once to the nearest double (ties to even); ±Infinity beyond the largest double. */
  get value(): number {
    const { mantissa, exponent } = this;
    if (mantissa === 0n) return 0;
    const negative = mantissa < 0n;
    const magnitude = negative ? -mantissa : mantissa;
    // Bits to drop: beyond 53 significant bits, and below 2^-1074 (where doubles become subnormal).
    const drop = Math.max(bitLength(magnitude) - 53, -1074 - exponent);
    let rounded = magnitude;
    if (drop > 0) {
      const shift = BigInt(drop);
      rounded = magnitude >> shift;
      const rest = magnitude - (rounded << shift);
      const half = 1n << (shift - 1n);
      if (rest > half || (rest === half && (rounded & 1n) === 1n)) rounded += 1n;
    }
    const value = scale(rounded, exponent + Math.max(drop, 0));
    return negative ? -value : value;
  }
}

/** A running exact sum for folding many values without a new ExactSum per value. */
export class ExactAccumulator {
  private mantissa = 0n;
  private exponent = 0;

  add(x: number): void {
    if (x === 0) return;
    const { mantissa, exponent } = decompose(x);
    if (this.mantissa === 0n) {
      this.mantissa = mantissa;
      this.exponent = exponent;
    } else if (exponent < this.exponent) {
      this.mantissa = (this.mantissa << BigInt(this.exponent - exponent)) + mantissa;
      this.exponent = exponent;
    } else {
      this.mantissa += mantissa << BigInt(exponent - this.exponent);
    }
  }

  get sum(): ExactSum {
    return ExactSum.fromParts(this.mantissa, this.exponent);
  }
}
