/**
 * Two ascending runs of samples as one, the later source winning at a shared
 * timestamp: a sealed chunk's samples with the raw points of minutes written
 * since (a raw row is never older than the chunk's copy of it). Pure.
 */

/** Samples as parallel arrays, ascending by ts, each ts once. */
export interface SampleRun {
  readonly ts: ArrayLike<number>;
  readonly values: ArrayLike<number>;
}

/** `older` and `newer` merged ascending; where both hold a ts, newer's value. */
export function mergeSamples(older: SampleRun, newer: SampleRun): { ts: Float64Array; values: Float64Array } {
  const ts = new Float64Array(older.ts.length + newer.ts.length);
  const values = new Float64Array(ts.length);
  let [i, j, n] = [0, 0, 0];
  while (i < older.ts.length || j < newer.ts.length) {
    const a = i < older.ts.length ? older.ts[i]! : Infinity;
    const b = j < newer.ts.length ? newer.ts[j]! : Infinity;
    if (b <= a) {
      ts[n] = b;
      values[n++] = newer.values[j++]!;
      if (a === b) i++;
    } else {
      ts[n] = a;
      values[n++] = older.values[i++]!;
    }
  }
  return { ts: ts.subarray(0, n), values: values.subarray(0, n) };
}
