/**
 * Which Cassandra a test run talks to, decided once per run:
 *  1. CASSANDRA_CONTACT_POINTS, if set (must answer, or the run fails);
 *  2. a node already answering on 127.0.0.1:9042 (reused);
 *  3. the official image through testcontainers, where a Docker engine answers;
 *  4. the project's own local node (Maven + Java 17), started and left running for the next run.
 * Never skips: if none of these works, set-up throws and the run fails.
 */
import { loadConfig, DEFAULT_LOCAL_DC } from '../../src/config.js';
import { ensureLocalCassandra } from '../../src/devstack/local-cassandra.js';
import { probeCql } from '../../src/storage/cassandra/single-node.js';
import { LOCAL_CONTACT_POINT } from '../../src/storage/cassandra/client.js';

export interface CassandraTarget {
  readonly contactPoints: string[];
  readonly localDataCenter: string;
  readonly description: string;
  /** Whether the tests may stop and start this node (only the project's own local node). */
  readonly managedLocally: boolean;
}

export interface ResolvedTarget {
  readonly target: CassandraTarget;
  readonly release: () => Promise<void>;
}

const log = (line: string): void => console.log(`[test cassandra] ${line}`);

export async function resolveCassandraTarget(): Promise<ResolvedTarget> {
  const config = loadConfig();
  const configured = config.contactPointsConfigured ? [...config.contactPoints] : [];
  const noop = (): Promise<void> => Promise.resolve();
  if (configured.length > 0) {
    const localDataCenter = config.localDataCenter;
    const version = await probeCql(configured[0]!, localDataCenter, 10_000);
    if (version === undefined) throw new Error(`CASSANDRA_CONTACT_POINTS=${configured.join(',')} does not answer CQL`);
    log(`using the configured cluster ${configured.join(',')} (Cassandra ${version})`);
    return {
      target: {
        contactPoints: configured,
        localDataCenter,
        description: `configured ${configured.join(',')}`,
        managedLocally: false,
      },
      release: noop,
    };
  }
  const running = await probeCql(LOCAL_CONTACT_POINT);
  if (running === undefined) {
    const container = await startContainer();
    if (container !== undefined) return container;
  }
  const local = await ensureLocalCassandra({
    log,
    runtime: 'java',
    heap: config.cassandraHeap,
    logMaxMb: config.logMaxMb,
  });
  return {
    target: {
      contactPoints: [local.contactPoint],
      localDataCenter: local.localDataCenter,
      description: `local ${local.how} ${local.releaseVersion}`,
      managedLocally: true,
    },
    release: noop,
  };
}

/** The official image via testcontainers; undefined (in milliseconds) where no container runtime answers. */
async function startContainer(): Promise<ResolvedTarget | undefined> {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers');
  try {
    await getContainerRuntimeClient();
  } catch (error) {
    log(`no container runtime (${error instanceof Error ? error.message : String(error)}); using the local node`);
    return undefined;
  }
  log('starting cassandra:5.0 with testcontainers');
  const container = await new GenericContainer('cassandra:5.0')
    .withExposedPorts(9042)
    .withEnvironment({ MAX_HEAP_SIZE: '1G', HEAP_NEWSIZE: '200M' })
    .withWaitStrategy(Wait.forLogMessage(/Starting listening for CQL clients/))
    .withStartupTimeout(240_000)
    .start();
  const contactPoint = `${container.getHost()}:${container.getMappedPort(9042)}`;
  return {
    target: {
      contactPoints: [contactPoint],
      localDataCenter: DEFAULT_LOCAL_DC,
      description: `container ${contactPoint}`,
      managedLocally: false,
    },
    release: async () => {
      await container.stop();
    },
  };
}
