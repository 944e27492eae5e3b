/** What `./meetr status` says of each node of a local cluster (MEETR_LOCAL_NODES). */
import { type LocalNode } from './local-nodes.js';
import { type RingMember } from './ring.js';

/** nodetool's two letters: status (Up/Down) and state (Normal/Leaving/Joining/Moving). */
const STATES: Record<string, string> = {
  UN: 'up, normal',
  DN: 'down',
  UJ: 'up, joining',
  UL: 'up, leaving',
  UM: 'up, moving',
  DL: 'down, leaving',
  DJ: 'down, joining',
  DM: 'down, moving',
};

/** What a node says of itself over CQL; undefined when it does not answer. */
export type NodeAnswer = { readonly releaseVersion: string; readonly clusterName: string } | undefined;

/** The node whose view of the ring to show: the first that answers as a node of this cluster. */
export function ringWitness(nodes: readonly LocalNode[], answers: readonly NodeAnswer[]): LocalNode | undefined {
  return nodes.find((node, i) => answers[i]?.clusterName === node.clusterName);
}

/**
 * One line per node, and whether every node answers as a node of this cluster. A
 * node of another cluster on the same address (the one-node Cassandra on
 * 127.0.0.1) answers CQL but is not one of them, and is told apart.
 */
export function clusterStatus(
  nodes: readonly LocalNode[],
  answers: readonly NodeAnswer[],
  ring: readonly RingMember[] | undefined,
): { lines: string[]; ok: boolean } {
  const witness = ringWitness(nodes, answers);
  const lines = nodes.map((node, i) => {
    const answer = answers[i];
    if (answer === undefined) return `node ${node.index} ${node.address}: does not answer CQL (data: ${node.data})`;
    if (answer.clusterName !== node.clusterName) {
      return (
        `node ${node.index} ${node.address}: answers CQL for the cluster "${answer.clusterName}", not "${node.clusterName}" ` +
        `(./meetr down, then MEETR_LOCAL_NODES=${nodes.length} ./meetr up) (data: ${node.data})`
      );
    }
    const state = ring?.find((member) => member.address === node.address)?.state;
    const seen =
      witness === undefined || state === undefined
        ? ''
        : `; ${STATES[state] ?? state} as node ${witness.index} sees it`;
    return `node ${node.index} ${node.address}: Cassandra ${answer.releaseVersion} answers CQL${seen} (data: ${node.data})`;
  });
  return { lines, ok: nodes.every((node, i) => answers[i]?.clusterName === node.clusterName) };
}
