/**
 * `node dist/cli/local-cassandra.js start|stop|status` — the local development node.
 * Does nothing when CASSANDRA_CONTACT_POINTS names a cluster of your own.
 */
import { ConfigError, loadConfig } from '../config.js';
import { ensureLocalCassandra, LOCAL_CONTACT_POINT, probeCql, stopLocalCassandra } from '../devstack/local-cassandra.js';

const log = (line: string): void => console.log(`[cassandra] ${line}`);
const command = process.argv[2] ?? 'status';

try {
  const config = loadConfig();
  const external = config.contactPoints.join(',');
  if (config.contactPointsConfigured && command !== 'status') {
    log(`CASSANDRA_CONTACT_POINTS=${external}: using that cluster, starting nothing`);
  } else if (command === 'start') {
    await ensureLocalCassandra({ log, heap: config.cassandraHeap });
  } else if (command === 'stop') {
    if (!(await stopLocalCassandra({ log }))) log('no local Cassandra started by meetr is running');
  } else if (command === 'status') {
    const target = config.contactPoints[0] ?? LOCAL_CONTACT_POINT;
    const version = await probeCql(target, config.localDataCenter);
    log(version === undefined ? `nothing answers CQL on ${target}` : `Cassandra ${version} answers on ${target}`);
    process.exitCode = version === undefined ? 1 : 0;
  } else {
    console.error('usage: local-cassandra start|stop|status');
    process.exitCode = 2;
  }
} catch (error) {
  console.error(`[cassandra] ${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
