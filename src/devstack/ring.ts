/**
 * The local cluster's ring as each node sees it, through nodetool over JMX.
 */
import { join } from 'node:path';
import { installCassandra, jvmOptions, pollUntil, run } from './node-process.js';
import { PROJECT_ROOT, type LocalNode } from './local-nodes.js';

/** A node of the ring as one node sees it (`nodetool status`): `UN` is up and normal, `DN` down, `UJ` joining... */
export interface RingMember {
  readonly address: string;
  readonly state: string;
}

/** The ring as `node` sees it, from `nodetool status` over its JMX port; undefined when the node does not answer. */
export async function ringSeenBy(node: LocalNode, root = PROJECT_ROOT): Promise<RingMember[] | undefined> {
  try {
    const out = await nodetool(node, ['status'], root, 30_000);
    return [...out.matchAll(/^([UD][NLJM])\s+(\d+\.\d+\.\d+\.\d+)\s/gm)].map((match) => ({
      state: match[1]!,
      address: match[2]!,
    }));
  } catch {
    return undefined;
  }
}

/** Whether each of the views of the ring (one per node, as ringSeenBy gives them) has every node up and normal. */
export function allSeeAllUp(
  nodes: readonly LocalNode[],
  views: ReadonlyArray<readonly RingMember[] | undefined>,
): boolean {
  return views.every((view) =>
    nodes.every((node) => view?.some((member) => member.address === node.address && member.state === 'UN') === true),
  );
}

/** Waits until every node sees every node as NORMAL and up. */
export async function waitForRing(
  nodes: readonly LocalNode[],
  timeoutMs: number,
  log: (line: string) => void,
): Promise<void> {
  let views: Array<RingMember[] | undefined> = [];
  await pollUntil(
    async () => {
      views = await Promise.all(nodes.map((node) => ringSeenBy(node)));
      return allSeeAllUp(nodes, views) ? true : undefined;
    },
    {
      timeoutMs,
      waiting: (seconds) => log(`waiting for the nodes to see each other up and normal (${seconds}s)`),
      failure: () =>
        `the local nodes did not all see each other up and normal within ${timeoutMs / 1000}s: ${JSON.stringify(views)}`,
    },
  );
}

/** Runs nodetool (from the fetched Cassandra jars) against one local node over its JMX port. */
export async function nodetool(
  node: LocalNode,
  args: readonly string[],
  root = PROJECT_ROOT,
  timeoutMs = 600_000,
): Promise<string> {
  const lib = await installCassandra(root);
  // The module exports and opens Cassandra needs on Java 17, which its tools need too.
  const modules = jvmOptions(root).filter((option) => option.startsWith('--add-'));
  const { stdout } = await run(
    'java',
    [
      '-Xmx256m',
      ...modules,
      '-cp',
      join(lib, '*'),
      'org.apache.cassandra.tools.NodeTool',
      '-h',
      '127.0.0.1',
      '-p',
      String(node.jmxPort),
      ...args,
    ],
    { maxBuffer: 16 * 1024 * 1024, timeout: timeoutMs },
  );
  return stdout;
}
