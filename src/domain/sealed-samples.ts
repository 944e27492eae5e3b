/**
 * What a sealed chunk holds (roller/hour-seal.ts): an hour's points and special
 * samples (NaN, ±Inf, staleness markers) as one ascending run, a point winning over
 * a special sample at the same ts, as PromQL reads them (promql/query-engine.ts
 * withSpecialSamples). Points are always finite and special samples never are, so a
 * chunk's values split back by finiteness. A staleness marker keeps Prometheus'
 * NaN bit pattern; any other NaN is stored as the canonical one. Values cross
 * between arrays through their bits, never as a JS number, so no payload is lost. Pure.
 */
import type { DecodedChunk } from './chunk-codec.js';
import type { SpecialValue } from './point.js';
import { mergeSamples, type SampleRun } from './sample-merge.js';

/** Prometheus' staleness marker: a NaN with this exact bit pattern. */
export const STALE_NAN_BITS = 0x7ff0000000000002n;
const STALE_HI = Number(STALE_NAN_BITS >> 32n);
const STALE_LO = Number(STALE_NAN_BITS & 0xffffffffn);
const CANONICAL_NAN_HI = 0x7ff80000;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const [LO, HI] = LITTLE_ENDIAN ? [0, 1] : [1, 0];

/** Points (finite, ascending) and special samples (ascending) as one run for a chunk; a point wins a shared ts. */
export function sealable(
  points: SampleRun,
  special: readonly SpecialValue[],
): { ts: Float64Array; values: Float64Array } {
  if (special.length === 0) return { ts: Float64Array.from(points.ts), values: Float64Array.from(points.values) };
  const specialRun = { ts: special.map(({ ts }) => ts), values: special.map(() => 0) };
  const merged = mergeSamples(specialRun, points);
  const bits = new Uint32Array(merged.values.buffer, merged.values.byteOffset, merged.values.length * 2);
  let s = 0;
  for (let i = 0; i < merged.ts.length; i++) {
    while (s < special.length && special[s]!.ts < merged.ts[i]!) s++;
    const sample = special[s];
    if (sample === undefined || sample.ts !== merged.ts[i] || pointAt(points, merged.ts[i]!)) continue;
    if (sample.stale) [bits[2 * i + HI], bits[2 * i + LO]] = [STALE_HI, STALE_LO];
    else if (Number.isNaN(sample.value)) [bits[2 * i + HI], bits[2 * i + LO]] = [CANONICAL_NAN_HI, 0];
    else merged.values[i] = sample.value;
  }
  return merged;
}

/**
 * Whether an hour's points and special samples are plain: besides staleness
 * markers (which PromQL's range functions skip) they hold no NaN, no ±Inf and no
 * -0, so the hour's rollups hold the min, max and count of every sample PromQL's
 * `*_over_time` sees, and compare as it does.
 */
export function isPlain(points: SampleRun, special: readonly SpecialValue[]): boolean {
  if (!special.every(({ stale }) => stale)) return false;
  for (let i = 0; i < points.values.length; i++) if (Object.is(points.values[i], -0)) return false;
  return true;
}

/** Whether the ascending points hold `ts` (binary search). */
function pointAt(points: SampleRun, ts: number): boolean {
  let [low, high] = [0, points.ts.length];
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (points.ts[middle]! < ts) low = middle + 1;
    else high = middle;
  }
  return low < points.ts.length && points.ts[low] === ts;
}

/** A chunk's samples from index `first` to before `end`: its points, and its special samples as such. */
export function unseal(
  chunk: DecodedChunk,
  first: number,
  end: number,
): { ts: Float64Array; values: Float64Array; special: SpecialValue[] } {
  let specials = 0;
  if (chunk.finite !== true) for (let i = first; i < end; i++) if (!Number.isFinite(chunk.values[i]!)) specials++;
  if (specials === 0 && first === 0 && end === chunk.ts.length)
    return { ts: chunk.ts, values: chunk.values, special: [] };
  if (specials === 0)
    return { ts: chunk.ts.subarray(first, end), values: chunk.values.subarray(first, end), special: [] };
  const bits = new Uint32Array(chunk.values.buffer, chunk.values.byteOffset, chunk.values.length * 2);
  const ts = new Float64Array(end - first - specials);
  const values = new Float64Array(ts.length);
  const special: SpecialValue[] = [];
  let n = 0;
  for (let i = first; i < end; i++) {
    const value = chunk.values[i]!;
    if (Number.isFinite(value)) {
      ts[n] = chunk.ts[i]!;
      values[n++] = value;
    } else {
      const stale = bits[2 * i + HI] === STALE_HI && bits[2 * i + LO] === STALE_LO;
      special.push({ ts: chunk.ts[i]!, value: stale ? NaN : value, stale });
    }
  }
  return { ts, values, special };
}
