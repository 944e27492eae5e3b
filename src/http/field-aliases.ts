/**
 * Meetr's field names and the aliases its clients send, in one place: a point's metric
 * is `metric_id` or `metric` and its time `ts` or `timestamp`; a search's metric is
 * `metric` or `metric_id`. Each list starts with the name the API documents, which wins
 * when a client sends both.
 */

/** A point's metric id (insert). */
export const POINT_METRIC = ['metric_id', 'metric'] as const;
/** A point's timestamp (insert). */
export const POINT_TS = ['ts', 'timestamp'] as const;
/** A search's metric id (GET /1.0/metrics). */
export const SEARCH_METRIC = ['metric', 'metric_id'] as const;
/** Every field a single form point may have. */
export const POINT_FIELDS = [...POINT_METRIC, ...POINT_TS, 'value'] as const;

/** The first of `names` that `has` holds, or the documented one (the first) when none is there. */
export function fieldOf<T extends string>(names: readonly [T, ...T[]], has: (name: T) => boolean): T {
  return names.find(has) ?? names[0];
}

/** `is missing (metric_id or metric)`: the words for a field sent under none of its names. */
export function missing(names: readonly string[]): string {
  return `is missing (${names.join(' or ')})`;
}
