import cassandra from 'cassandra-driver';
import type { Config, ConsistencyName } from '../../config.js';
import { createClockWatch } from '../../time/clock-watch.js';
import type { EpochMs } from '../../time/units.js';
import { IdempotentRetryPolicy } from './retry-policy.js';

export type CassandraClient = cassandra.Client;

export type CassandraClientOptions = Pick<
  Config,
  'contactPoints' | 'localDataCenter' | 'credentials' | 'readConsistency' | 'storageTimeoutMs' | 'storageConcurrency'
> & {
  /** Name shown in Cassandra's client list. */
  readonly applicationName?: string;
};

export const LOCAL_CONTACT_POINT = '127.0.0.1:9042';

/**
 * The one long-lived driver client of a process. Statements are idempotent
 * (upserts and reads) unless marked otherwise, so the driver may retry them on
 * another host, once more after a coordinator's timeout too (retry-policy.ts);
 * a dead node is retried every 250 ms to 2 s, so service resumes soon after
 * Cassandra is back.
 */
export function createCassandraClient(options: CassandraClientOptions): CassandraClient {
  const {
    contactPoints,
    localDataCenter,
    credentials,
    readConsistency,
    storageTimeoutMs,
    applicationName = 'meetr',
  } = options;
  return new cassandra.Client({
    contactPoints: contactPoints.length > 0 ? [...contactPoints] : [LOCAL_CONTACT_POINT],
    localDataCenter,
    applicationName,
    ...(credentials === undefined
      ? {}
      : { authProvider: new cassandra.auth.PlainTextAuthProvider(credentials.username, credentials.password) }),
    // Rollup sums are exact: their mantissas are varints, read and written as BigInt.
    encoding: { useBigIntAsVarint: true },
    queryOptions: {
      // Statements of the point store name their own level (statementConsistency); this is for the rest.
      consistency: driverConsistency(readConsistency),
      prepare: true,
      isIdempotent: true,
    },
    socketOptions: {
      connectTimeout: Math.min(storageTimeoutMs, 5_000),
      readTimeout: storageTimeoutMs,
    },
    pooling: {
      coreConnectionsPerHost: { [cassandra.types.distance.local]: 2, [cassandra.types.distance.remote]: 1 },
      maxRequestsPerConnection: 2048,
    },
    policies: {
      reconnection: new cassandra.policies.reconnection.ExponentialReconnectionPolicy(250, 2_000, true),
      retry: new IdempotentRetryPolicy(),
    },
  });
}

/** The driver's consistency values for reads and for writes. */
export interface StatementConsistency {
  readonly read: number;
  readonly write: number;
}

export function statementConsistency(
  config: Pick<Config, 'readConsistency' | 'writeConsistency'>,
): StatementConsistency {
  return { read: driverConsistency(config.readConsistency), write: driverConsistency(config.writeConsistency) };
}

type DriverConsistencyKey = keyof typeof cassandra.types.consistencies;

function driverConsistency(name: ConsistencyName): number {
  const keys: Record<ConsistencyName, DriverConsistencyKey> = {
    ANY: 'any',
    ONE: 'one',
    TWO: 'two',
    THREE: 'three',
    QUORUM: 'quorum',
    ALL: 'all',
    LOCAL_QUORUM: 'localQuorum',
    EACH_QUORUM: 'eachQuorum',
    LOCAL_ONE: 'localOne',
  };
  return cassandra.types.consistencies[keys[name]];
}

/** Whether the client holds at least one open connection to a node. */
export function hasConnectedHost(client: CassandraClient): boolean {
  return client.getState().getConnectedHosts().length > 0;
}

/** A connected client; retries (500 ms more each time, at most 5 s apart) until Cassandra answers. */
export async function connectWithRetry(
  options: CassandraClientOptions,
  log: (message: string) => void,
): Promise<CassandraClient> {
  for (let attempt = 1; ; attempt++) {
    const client = createCassandraClient(options);
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.shutdown().catch(() => undefined);
      const delay = Math.min(500 * attempt, 5_000);
      log(
        `Cassandra not reachable (${error instanceof Error ? error.message : String(error)}); retrying in ${delay} ms`,
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/** Cassandra's clock: a coordinator's now() (system.local is each node's own, so no replica is asked). */
export async function cassandraNowMs(client: CassandraClient): Promise<EpochMs> {
  const result = await client.execute('SELECT toUnixTimestamp(now()) AS now FROM system.local', [], {
    prepare: true,
    consistency: cassandra.types.consistencies.one,
  });
  return (result.first()?.get('now') as cassandra.types.Long).toNumber();
}

/**
 * This host's clock moved onto Cassandra's, by one comparison: for a command that
 * queues work for the roller (migrate), which is not watched as workers are.
 */
export async function cassandraClock(client: CassandraClient): Promise<() => EpochMs> {
  const watch = createClockWatch({ serverTimeMs: () => cassandraNowMs(client), maxSkewMs: Number.POSITIVE_INFINITY });
  await watch.check();
  const { offsetMs } = watch.reading();
  if (offsetMs === undefined) throw new Error("could not read Cassandra's clock (SELECT now() FROM system.local)");
  return () => Date.now() + offsetMs;
}
