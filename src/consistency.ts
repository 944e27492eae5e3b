/** Cassandra's consistency levels as meetr names them, and whether a pair of them keeps what meetr reads overlapping what it wrote. Pure. */
import type { Replication } from './config-reader.js';

export const CONSISTENCY_LEVELS = [
  'ANY',
  'ONE',
  'TWO',
  'THREE',
  'QUORUM',
  'ALL',
  'LOCAL_QUORUM',
  'EACH_QUORUM',
  'LOCAL_ONE',
] as const;
export type ConsistencyName = (typeof CONSISTENCY_LEVELS)[number];

/**
 * Why reads at `read` and writes at `write` would not keep meetr's promise on
 * `replication`: ANY (a write no replica may hold, a read Cassandra refuses), a
 * level the keyspace has too few replicas for, or levels whose replica sets need
 * not overlap, so a search or the roller could miss an acknowledged point. Empty
 * when they keep it.
 */
export function consistencyProblems(
  read: ConsistencyName,
  write: ConsistencyName,
  replication: Replication,
  localDataCenter: string,
  variables = { read: 'MEETR_READ_CONSISTENCY', write: 'MEETR_WRITE_CONSISTENCY' },
): string[] {
  const problems = new Set<string>(); // MEETR_CONSISTENCY may stand for both levels: say each problem once
  if (read === 'ANY')
    problems.add(
      `${variables.read}: ANY is not a level meetr reads at (Cassandra refuses reads at ANY); use ONE or stronger`,
    );
  if (write === 'ANY' && variables.write !== variables.read)
    problems.add(`${variables.write}: ANY acknowledges writes no replica holds; use ONE or stronger`);
  if (problems.size > 0) return [...problems];
  const factors =
    replication.class === 'SimpleStrategy' ? [replication.replicationFactor] : Object.values(replication.dataCenters);
  const total = factors.reduce((a, b) => a + b, 0);
  const local = replication.class === 'SimpleStrategy' ? total : (replication.dataCenters[localDataCenter] ?? 0);
  if (local === 0)
    return [`MEETR_REPLICATION: no replicas in the local data center ${localDataCenter} (CASSANDRA_LOCAL_DC)`];
  const [r, w] = [replicasOf(read, factors, total, local), replicasOf(write, factors, total, local)];
  for (const [name, level, needs] of [
    [variables.read, read, r],
    [variables.write, write, w],
  ] as const) {
    if (needs.inLocal > local || needs.anywhere > total) {
      problems.add(
        `${name}: ${level} needs more replicas than MEETR_REPLICATION gives (${total} in all, ${local} in ${localDataCenter})`,
      );
    }
  }
  if (problems.size > 0) return [...problems];
  // Two replica sets surely share a replica if together they hold more than all replicas, or more than the local DC's.
  if (r.anywhere + w.anywhere <= total && r.inLocal + w.inLocal <= local) {
    problems.add(
      `${variables.read} ${read} and ${variables.write} ${write} need not reach a common replica with replication ${total} ` +
        `(${local} in ${localDataCenter}): a search could miss an acknowledged point; choose levels whose replicas add up to more than the replicas (e.g. QUORUM and QUORUM)`,
    );
  }
  return [...problems];
}

/**
 * How many replicas a level touches at least: anywhere, and surely within the local
 * data center (`factors`: replicas per data center, `total` of them, `local` in the local one).
 */
function replicasOf(
  level: ConsistencyName,
  factors: readonly number[],
  total: number,
  local: number,
): { anywhere: number; inLocal: number } {
  const quorum = (n: number): number => Math.floor(n / 2) + 1;
  const remote = total - local;
  const some = (n: number): { anywhere: number; inLocal: number } => ({
    anywhere: n,
    inLocal: Math.max(0, n - remote),
  });
  switch (level) {
    case 'ANY':
      return { anywhere: 0, inLocal: 0 };
    case 'ONE':
      return some(1);
    case 'TWO':
      return some(2);
    case 'THREE':
      return some(3);
    case 'QUORUM':
      return some(quorum(total));
    case 'ALL':
      return { anywhere: total, inLocal: local };
    case 'LOCAL_ONE':
      return { anywhere: 1, inLocal: 1 };
    case 'LOCAL_QUORUM':
      return { anywhere: quorum(local), inLocal: quorum(local) };
    case 'EACH_QUORUM':
      return { anywhere: factors.reduce((sum, n) => sum + quorum(n), 0), inLocal: quorum(local) };
  }
}
