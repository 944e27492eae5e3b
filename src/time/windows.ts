/**
 * Where a time falls among ascending times: the one windowing of every reader. The
 * Meetr search finds a point's bucket (bucket bounds) and a rollup row's span, the
 * roller a dirty minute, PromQL an instant selector's latest sample and a range
 * selector's window. Pure.
 */

/** The first index whose value is at least `value` (sorted.length when none is). */
export function firstAtOrAfter(sorted: ArrayLike<number>, value: number): number {
  let [low, high] = [0, sorted.length];
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** The last index whose value is at most `value`, or -1. */
export function lastAtOrBefore(sorted: ArrayLike<number>, value: number): number {
  let [low, high] = [0, sorted.length];
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! <= value) low = middle + 1;
    else high = middle;
  }
  return low - 1;
}

/** The indexes [first, last] of the values in [from, to]; last < first when there are none. */
export function windowIndexes(sorted: ArrayLike<number>, from: number, to: number): [first: number, last: number] {
  return [firstAtOrAfter(sorted, from), lastAtOrBefore(sorted, to)];
}

/** The index of the window [bounds[i], bounds[i + 1]) holding `value`, or -1 outside them all. */
export function windowOf(bounds: readonly number[], value: number): number {
  if (bounds.length === 0 || value < bounds[0]! || value >= bounds[bounds.length - 1]!) return -1;
  return lastAtOrBefore(bounds, value);
}
