/**
 * vitest global set-up for the cluster tier: `MEETR_LOCAL_NODES=3 ./meetr up`, a
 * local three-node Cassandra with replication factor 3 and the workers at
 * LOCAL_QUORUM, behind HAProxy, on the tier's own ports. Its nodes listen on
 * 127.0.0.1-3:9042, where the one-node local Cassandra also listens: that one is
 * stopped first (the other suites start it again when they need it). The tier
 * kills and restarts nodes, so it never runs against CASSANDRA_CONTACT_POINTS.
 */
import type { TestProject } from 'vitest/node';
import { stopLocalCassandra } from '../../src/devstack/local-cassandra.js';
import { bringUpStack } from './functional-setup.js';
import { localNodes } from '../../src/devstack/local-nodes.js';

export const CLUSTER_NODES = 3;

let tearDown: (() => Promise<void>) | undefined;

export async function setup(project: TestProject): Promise<void> {
  await stopLocalCassandra({ log: (line) => console.log(`[cluster] ${line}`) });
  tearDown = await bringUpStack(project, {
    name: 'cluster',
    basePort: Number(process.env.MEETR_CLUSTER_WORKER_PORT ?? 29001),
    httpPort: Number(process.env.MEETR_CLUSTER_HTTP_PORT ?? 28888),
    target: {
      contactPoints: localNodes(CLUSTER_NODES).map((node) => node.contactPoint),
      localDataCenter: 'datacenter1',
      description: 'local 3-node cluster',
      managedLocally: true,
    },
    env: {
      CASSANDRA_CONTACT_POINTS: '',
      MEETR_LOCAL_NODES: String(CLUSTER_NODES),
      MEETR_REPLICATION: '',
      MEETR_CONSISTENCY: '',
      MEETR_READ_CONSISTENCY: '',
      MEETR_WRITE_CONSISTENCY: '',
    },
  });
}

export async function teardown(): Promise<void> {
  await tearDown?.();
}
