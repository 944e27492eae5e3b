/**
 * Talking to one Cassandra node alone, never to its peers: whether it answers CQL,
 * and what it says of itself. Used by the local set-up (devstack/) and the cluster tier.
 */
import cassandra from 'cassandra-driver';
import { DEFAULT_LOCAL_DC } from '../../config.js';

/** Cassandra's release_version if a node answers a real CQL query at `contactPoint`, else undefined. */
export async function probeCql(
  contactPoint: string,
  localDataCenter = DEFAULT_LOCAL_DC,
  timeoutMs = 3_000,
): Promise<string | undefined> {
  return (await probeNode(contactPoint, localDataCenter, timeoutMs))?.releaseVersion;
}

/**
 * A driver client that talks to the node at `contactPoint` alone, never to its
 * peers: what that node itself answers (and, with its peers down, what it holds).
 */
export function singleNodeClient(
  contactPoint: string,
  options: { localDataCenter?: string; timeoutMs?: number } = {},
): cassandra.Client {
  const { localDataCenter = DEFAULT_LOCAL_DC, timeoutMs } = options;
  const { loadBalancing } = cassandra.policies;
  return new cassandra.Client({
    contactPoints: [contactPoint],
    localDataCenter,
    ...(timeoutMs === undefined ? {} : { socketOptions: { connectTimeout: timeoutMs, readTimeout: timeoutMs } }),
    pooling: { warmup: false },
    policies: {
      loadBalancing: new loadBalancing.AllowListPolicy(new loadBalancing.RoundRobinPolicy(), [contactPoint]),
    },
  });
}

/** What the node at `contactPoint` says of itself, talking to it alone; undefined if it does not answer. */
export async function probeNode(
  contactPoint: string,
  localDataCenter = DEFAULT_LOCAL_DC,
  timeoutMs = 3_000,
): Promise<{ releaseVersion: string; clusterName: string } | undefined> {
  const client = singleNodeClient(contactPoint, { localDataCenter, timeoutMs });
  try {
    const row = (await client.execute('SELECT release_version, cluster_name FROM system.local')).first();
    return {
      releaseVersion: String(row?.get('release_version') ?? 'unknown'),
      clusterName: String(row?.get('cluster_name') ?? ''),
    };
  } catch {
    return undefined;
  } finally {
    await client.shutdown().catch(() => undefined);
  }
}
