/**
 * Grouping, once: a key's group is made on first sight, and groups keep the order
 * they were first seen in (the order Prometheus gives an aggregation's output). The
 * Meetr search groups rollup runs by storage partition with it; PromQL groups
 * samples by label set. Pure.
 */

/** The group of `key` in `groups`, made by `create` and added if it is not there yet. */
export function groupOf<K, G>(groups: Map<K, G>, key: K, create: () => G): G {
  let group = groups.get(key);
  if (group === undefined) groups.set(key, (group = create()));
  return group;
}
