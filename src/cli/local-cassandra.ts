/**
 * `node dist/cli/local-cassandra.js start|stop|status|nodetool ARGS` — the local
 * development node, or MEETR_LOCAL_NODES of them; `nodetool` runs on each node in
 * turn. Starts, stops and runs nothing when CASSANDRA_CONTACT_POINTS names a
 * cluster of your own.
 */
import { ConfigError, loadConfig, type Config } from '../config.js';
import { clusterStatus, ringWitness } from '../devstack/cluster-status.js';
import { createLog } from '../log.js';
import { ensureLocalCassandra, stopLocalCassandra } from '../devstack/local-cassandra.js';
import { localNodes, type LocalNode } from '../devstack/local-nodes.js';
import { probeCql, probeNode } from '../storage/cassandra/single-node.js';
import { nodetool, ringSeenBy } from '../devstack/ring.js';

const cliLog = createLog('cassandra');
const log = (line: string): void => cliLog.info(line);
const command = process.argv[2] ?? 'status';

try {
  const config = loadConfig();
  const external = config.contactPoints.join(',');
  if (config.contactPointsConfigured && command === 'nodetool') {
    cliLog.error(`CASSANDRA_CONTACT_POINTS=${external} is a cluster of your own: run nodetool on its nodes`);
    process.exitCode = 2;
  } else if (config.contactPointsConfigured && command !== 'status') {
    log(`CASSANDRA_CONTACT_POINTS=${external}: using that cluster, starting nothing`);
  } else if (command === 'start') {
    await ensureLocalCassandra({
      log,
      heap: config.cassandraHeap,
      logMaxMb: config.logMaxMb,
      nodes: config.localNodes,
    });
  } else if (command === 'stop') {
    if (!(await stopLocalCassandra({ log }))) log('no local Cassandra started by meetr is running');
  } else if (command === 'status') {
    process.exitCode = (await status(config)) ? 0 : 1;
  } else if (command === 'nodetool') {
    for (const node of localNodes(config.localNodes)) {
      if (config.localNodes > 1) log(`nodetool on node ${node.index} (${node.address})`);
      await nodetoolOn(node, process.argv.slice(3));
    }
  } else {
    console.error('usage: local-cassandra start|stop|status|nodetool ARGS');
    process.exitCode = 2;
  }
} catch (error) {
  cliLog.error(error instanceof ConfigError || error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
}

/** One line per node: whether it answers CQL, and for a local cluster its state in the ring. Returns whether all answer. */
async function status(config: Config): Promise<boolean> {
  if (config.contactPointsConfigured || config.localNodes === 1) {
    const target = config.contactPoints[0]!;
    const version = await probeCql(target, config.localDataCenter);
    log(version === undefined ? `nothing answers CQL on ${target}` : `Cassandra ${version} answers on ${target}`);
    return version !== undefined;
  }
  const nodes = localNodes(config.localNodes);
  const answers = await Promise.all(nodes.map((node) => probeNode(node.contactPoint, config.localDataCenter)));
  const witness = ringWitness(nodes, answers);
  const { lines, ok } = clusterStatus(nodes, answers, witness === undefined ? undefined : await ringSeenBy(witness));
  for (const line of lines) log(line);
  return ok;
}

/** nodetool's output on one node, without the debug lines its logging prints when it has no configuration of its own. */
async function nodetoolOn(node: LocalNode, args: readonly string[]): Promise<void> {
  const quiet = (text = ''): string => text.replace(/^\S+ \[main\] DEBUG .*\n/gm, '');
  try {
    process.stdout.write(quiet(await nodetool(node, args)));
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    process.stderr.write(quiet(stdout) + quiet(stderr));
    process.exitCode = 1;
  }
}
