/**
 * The Cassandra meetr runs for itself when no cluster is configured: for
 * development, tests and CI. One node by default, two ways, tried in order:
 *  - a Docker engine answers: the official `cassandra:5.0` image;
 *  - otherwise: Apache Cassandra from Maven Central (cassandra-all and its
 *    dependencies, version pinned in scripts/cassandra/pom.xml), on the local
 *    Java 17 with a heap sized as Cassandra sizes its own (heapFor), data and logs
 *    under `.local/cassandra/`.
 * A node already answering CQL on 127.0.0.1:9042 is reused, whoever started it.
 *
 * With MEETR_LOCAL_NODES=N (2 or 3): a local cluster of N Java nodes, node i on
 * 127.0.0.i with the same ports, every node a seed with its own token (evenly
 * spaced), data and logs under `.local/cassandra/cluster-N/node-i/`, JMX for
 * nodetool on 127.0.0.1:7199 + 100 × (i - 1). It is its own cluster
 * (`meetr-local-N`): a one-node data folder is never joined to it.
 */
import { MAX_LOCAL_NODES, DEFAULT_LOCAL_DC } from '../config.js';
import { LOCAL_CONTACT_POINT } from '../storage/cassandra/client.js';
import { probeCql, probeNode } from '../storage/cassandra/single-node.js';
import { localNodes, PROJECT_ROOT, type LocalNode } from './local-nodes.js';
import {
  alivePid,
  jvmSettings,
  run,
  startingOrStarted,
  startLocalNode,
  stopLocalNode,
  waitForCql,
  type JvmSettings,
  type NodeOptions,
} from './node-process.js';
import { waitForRing } from './ring.js';

const DOCKER_IMAGE = 'cassandra:5.0';
const DOCKER_CONTAINER = 'meetr-cassandra';

export interface LocalCassandraOptions extends NodeOptions {
  /** `auto` tries Docker first; `java` never does. */
  readonly runtime?: 'auto' | 'java';
  /** How many nodes (config's MEETR_LOCAL_NODES); 1 unless given. More than one always runs on Java. */
  readonly nodes?: number;
}

export interface LocalCassandra {
  /** The first node's. */
  readonly contactPoint: string;
  readonly contactPoints: readonly string[];
  readonly localDataCenter: string;
  readonly releaseVersion: string;
  /** How it came to be running: already up, or started now by this call. */
  readonly how: 'reused' | 'started-java' | 'started-docker';
}

/** Makes sure the local node (or the MEETR_LOCAL_NODES nodes) answer CQL, starting what is not running. */
export async function ensureLocalCassandra(options: LocalCassandraOptions = {}): Promise<LocalCassandra> {
  const {
    root = PROJECT_ROOT,
    log = () => undefined,
    readyTimeoutMs = 240_000,
    runtime = 'auto',
    nodes: count = 1,
  } = options;
  const jvm = jvmSettings(options, count);
  if (count > 1) return ensureLocalCluster(root, count, jvm, readyTimeoutMs, log);
  const running = await probeCql(LOCAL_CONTACT_POINT);
  if (running !== undefined) {
    log(`Cassandra ${running} already answers on ${LOCAL_CONTACT_POINT}; reusing it`);
    return {
      contactPoint: LOCAL_CONTACT_POINT,
      contactPoints: [LOCAL_CONTACT_POINT],
      localDataCenter: DEFAULT_LOCAL_DC,
      releaseVersion: running,
      how: 'reused',
    };
  }
  const [node] = localNodes(1, root) as [LocalNode];
  let how: LocalCassandra['how'];
  let isAlive: () => boolean;
  if (alivePid(node.pidFile) !== undefined) {
    log('a local Cassandra is starting already; waiting for it');
    how = 'started-java';
    isAlive = () => alivePid(node.pidFile) !== undefined;
  } else if (runtime === 'auto' && (await dockerAnswers())) {
    log(`starting ${DOCKER_IMAGE} in Docker as ${DOCKER_CONTAINER}`);
    await startDocker();
    how = 'started-docker';
    isAlive = () => true;
  } else {
    isAlive = await startLocalNode(node, jvm, log, root);
    how = 'started-java';
  }
  const version = await waitForCql(node, readyTimeoutMs, isAlive, log);
  log(`Cassandra ${version} is up on ${LOCAL_CONTACT_POINT}`);
  return {
    contactPoint: LOCAL_CONTACT_POINT,
    contactPoints: [LOCAL_CONTACT_POINT],
    localDataCenter: DEFAULT_LOCAL_DC,
    releaseVersion: version,
    how,
  };
}

/** The local cluster: every node answering CQL and seeing every other as up and normal. */
async function ensureLocalCluster(
  root: string,
  count: number,
  jvm: JvmSettings,
  readyTimeoutMs: number,
  log: (line: string) => void,
): Promise<LocalCassandra> {
  const nodes = localNodes(count, root);
  let started = false;
  const waits = await Promise.all(
    nodes.map(async (node) => {
      const answer = await probeNode(node.contactPoint);
      if (answer !== undefined) {
        if (answer.clusterName !== node.clusterName) {
          throw new Error(
            `${node.contactPoint} answers for the Cassandra cluster "${answer.clusterName}", not the local ${count}-node cluster "${node.clusterName}": ` +
              'stop it first (./meetr down with the MEETR_LOCAL_NODES it was started with)',
          );
        }
        return { node, isAlive: () => true };
      }
      started ||= alivePid(node.pidFile) === undefined;
      return { node, isAlive: await startingOrStarted(node, jvm, log, root, count) };
    }),
  );
  const versions = await Promise.all(waits.map(({ node, isAlive }) => waitForCql(node, readyTimeoutMs, isAlive, log)));
  await waitForRing(nodes, readyTimeoutMs, log);
  log(`${count} Cassandra ${versions[0]} nodes are up and normal on ${nodes.map((node) => node.address).join(', ')}`);
  return {
    contactPoint: nodes[0]!.contactPoint,
    contactPoints: nodes.map((node) => node.contactPoint),
    localDataCenter: DEFAULT_LOCAL_DC,
    releaseVersion: versions[0]!,
    how: started ? 'started-java' : 'reused',
  };
}

/** Stops every local node this project started (one node or a cluster's), or its Docker container. Returns whether one was running. */
export async function stopLocalCassandra(options: Pick<LocalCassandraOptions, 'root' | 'log'> = {}): Promise<boolean> {
  const { root = PROJECT_ROOT, log = () => undefined } = options;
  const nodes = Array.from({ length: MAX_LOCAL_NODES }, (_, i) => localNodes(i + 1, root)).flat();
  const stopped = await Promise.all(nodes.map((node) => stopLocalNode(node, 'SIGTERM', log)));
  if (stopped.some(Boolean)) return true;
  if (await dockerAnswers()) {
    const stoppedContainer = await run('docker', ['stop', DOCKER_CONTAINER]).then(
      () => true,
      () => false,
    );
    if (stoppedContainer) log(`stopped container ${DOCKER_CONTAINER}`);
    return stoppedContainer;
  }
  return false;
}

async function dockerAnswers(): Promise<boolean> {
  return run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 5_000 }).then(
    () => true,
    () => false,
  );
}

async function startDocker(): Promise<void> {
  const started = await run('docker', ['start', DOCKER_CONTAINER]).then(
    () => true,
    () => false,
  );
  if (started) return;
  await run('docker', [
    'run',
    '-d',
    '--name',
    DOCKER_CONTAINER,
    '-p',
    '127.0.0.1:9042:9042',
    '-e',
    'MAX_HEAP_SIZE=1G',
    '-e',
    'HEAP_NEWSIZE=200M',
    DOCKER_IMAGE,
  ]);
}
