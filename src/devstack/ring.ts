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

/**
 * How long one `nodetool status` may take. Idle, it answers in about 1.5 s. In a
 * clean-clone run of the cluster tier (three nodes, the stack and its load on 2
 * cores, hints replaying), three probes at once, each given 30 s, did not see for
 * four minutes a ring that the nodes' own logs showed up and normal.
 */
const RING_PROBE_MS = 90_000;

/**
 * The ring as `node` sees it, from `nodetool status` over its JMX port; undefined
 * when the node does not answer, and then `unanswered` is told why.
 */
export async function ringSeenBy(
  node: LocalNode,
  root = PROJECT_ROOT,
  unanswered: (why: string) => void = () => undefined,
): Promise<RingMember[] | undefined> {
  try {
    const out = await nodetool(node, ['status'], root, RING_PROBE_MS);
    return [...out.matchAll(/^([UD][NLJM])\s+(\d+\.\d+\.\d+\.\d+)\s/gm)].map((match) => ({
      state: match[1]!,
      address: match[2]!,
    }));
  } catch (error) {
    unanswered(error instanceof Error ? error.message.split('\n')[0]! : String(error));
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

/**
 * Waits until every node sees every node as NORMAL and up. The nodes are asked
 * one after another, a nodetool JVM at a time, so that asking does not add to the
 * load that slows the ring down; each wait and the failure say what each node saw.
 */
export async function waitForRing(
  nodes: readonly LocalNode[],
  timeoutMs: number,
  log: (line: string) => void,
  root = PROJECT_ROOT,
): Promise<void> {
  let seen: string[] = [];
  await pollUntil(
    async () => {
      const views: Array<RingMember[] | undefined> = [];
      seen = [];
      for (const node of nodes) {
        const view = await ringSeenBy(node, root, (why) => seen.push(`node ${node.index} did not answer: ${why}`));
        if (view !== undefined) seen.push(`node ${node.index} sees ${describeView(view)}`);
        views.push(view);
      }
      return allSeeAllUp(nodes, views) ? true : undefined;
    },
    {
      timeoutMs,
      waiting: (seconds) =>
        log(`waiting for the nodes to see each other up and normal (${seconds}s): ${seen.join('; ')}`),
      failure: () =>
        `the local nodes did not all see each other up and normal within ${timeoutMs / 1000}s: ${seen.join('; ')}`,
    },
  );
}

function describeView(view: readonly RingMember[]): string {
  return view.length === 0 ? 'no ring' : view.map((member) => `${member.address} ${member.state}`).join(', ');
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
      // A short-lived client: a small heap, no JIT beyond its first tier, the serial collector, so that it starts on half the CPU.
      '-Xmx256m',
      '-XX:TieredStopAtLevel=1',
      '-XX:+UseSerialGC',
      '-XX:-UsePerfData',
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
