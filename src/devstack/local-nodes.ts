/**
 * Where each local Cassandra node lives: its address, ports, data, logs and
 * cassandra.yaml, for one node or a local cluster of up to three.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localNodeContactPoints } from '../config.js';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function pathsUnder(root: string) {
  const home = join(root, '.local', 'cassandra');
  return {
    home,
    data: join(home, 'data'),
    logs: join(home, 'logs'),
    pidFile: join(home, 'cassandra.pid'),
    pom: join(root, 'scripts', 'cassandra', 'pom.xml'),
    yaml: join(root, 'scripts', 'cassandra', 'cassandra.yaml'),
    logback: join(root, 'scripts', 'cassandra', 'logback.xml'),
    jvmOptions: join(root, 'scripts', 'cassandra', 'jvm17.options'),
  };
}

/** One local node: where it listens, keeps its data and logs, and how nodetool reaches it. */
export interface LocalNode {
  /** 1-based. */
  readonly index: number;
  readonly address: string;
  readonly contactPoint: string;
  readonly home: string;
  readonly data: string;
  readonly logs: string;
  readonly pidFile: string;
  /** Its cassandra.yaml: the project's for a single node, written from it for a cluster's nodes. */
  readonly yaml: string;
  readonly jmxPort: number;
  /** The cluster_name it runs with. */
  readonly clusterName: string;
}

const SINGLE_CLUSTER_NAME = 'meetr-local';
const FIRST_JMX_PORT = 7199;

/** The nodes of a local set-up of `count` nodes (1: the single node, as it always was). */
export function localNodes(count = 1, root = PROJECT_ROOT): LocalNode[] {
  const paths = pathsUnder(root);
  return localNodeContactPoints(count).map((contactPoint, i) => {
    const index = i + 1;
    const address = contactPoint.slice(0, contactPoint.lastIndexOf(':'));
    const home = count === 1 ? paths.home : join(paths.home, `cluster-${count}`, `node-${index}`);
    return {
      index,
      address,
      contactPoint,
      home,
      data: join(home, 'data'),
      logs: join(home, 'logs'),
      pidFile: join(home, 'cassandra.pid'),
      yaml: count === 1 ? paths.yaml : join(home, 'cassandra.yaml'),
      jmxPort: FIRST_JMX_PORT + 100 * i,
      clusterName: count === 1 ? SINGLE_CLUSTER_NAME : `${SINGLE_CLUSTER_NAME}-${count}`,
    };
  });
}

/**
 * A cluster node's cassandra.yaml: the project's, with the node's own address,
 * every node as a seed (a new cluster: no node bootstraps from another) and an
 * evenly spaced token, so no two nodes' ranges depend on start order.
 */
export function clusterNodeYaml(template: string, node: LocalNode, count: number): string {
  const seeds = localNodes(count)
    .map((other) => `${other.address}:7000`)
    .join(',');
  const token = (-(2n ** 63n) + (2n ** 64n / BigInt(count)) * BigInt(node.index - 1)).toString();
  const replacements: Array<[RegExp, string]> = [
    [/^cluster_name:.*$/m, `cluster_name: ${node.clusterName}`],
    [/^initial_token:.*$/m, `initial_token: ${token}`],
    [/^(\s*- seeds:).*$/m, `$1 "${seeds}"`],
    [/^listen_address:.*$/m, `listen_address: ${node.address}`],
    [/^rpc_address:.*$/m, `rpc_address: ${node.address}`],
  ];
  let yaml = template;
  for (const [pattern, line] of replacements) {
    if (!pattern.test(yaml))
      throw new Error(`scripts/cassandra/cassandra.yaml has no line matching ${String(pattern)}`);
    yaml = yaml.replace(pattern, line);
  }
  return yaml;
}

/** The pinned Cassandra version: the one property of scripts/cassandra/pom.xml. */
export function pinnedCassandraVersion(root = PROJECT_ROOT): string {
  const match = /<cassandra\.version>([^<]+)<\/cassandra\.version>/.exec(readFileSync(pathsUnder(root).pom, 'utf8'));
  if (match?.[1] === undefined) throw new Error('scripts/cassandra/pom.xml has no <cassandra.version>');
  return match[1];
}
