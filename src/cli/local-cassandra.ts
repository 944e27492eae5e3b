/**
 * `node dist/cli/local-cassandra.js start|stop|status` — the local development node.
 * Does nothing when CASSANDRA_CONTACT_POINTS names a cluster of your own.
 */
import { ensureLocalCassandra, LOCAL_CONTACT_POINT, probeCql, stopLocalCassandra } from '../devstack/local-cassandra.js';

const log = (line: string): void => console.log(`[cassandra] ${line}`);
const command = process.argv[2] ?? 'status';
const external = (process.env.CASSANDRA_CONTACT_POINTS ?? '').trim();

try {
  if (external !== '' && command !== 'status') {
    log(`CASSANDRA_CONTACT_POINTS=${external}: using that cluster, starting nothing`);
  } else if (command === 'start') {
    await ensureLocalCassandra({ log });
  } else if (command === 'stop') {
    if (!(await stopLocalCassandra({ log }))) log('no local Cassandra started by meetr is running');
  } else if (command === 'status') {
    const target = external === '' ? LOCAL_CONTACT_POINT : external.split(',')[0]!.trim();
    const version = await probeCql(target, process.env.CASSANDRA_LOCAL_DC ?? 'datacenter1');
    log(version === undefined ? `nothing answers CQL on ${target}` : `Cassandra ${version} answers on ${target}`);
    process.exitCode = version === undefined ? 1 : 0;
  } else {
    console.error('usage: local-cassandra start|stop|status');
    process.exitCode = 2;
  }
} catch (error) {
  console.error(`[cassandra] ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
