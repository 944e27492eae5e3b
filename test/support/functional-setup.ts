/**
 * vitest global set-up for the functional project: the real stack, brought up by
 * the same `./meetr up` an operator runs, on its own ports, pm2 home and keyspace
 * so it never touches a developer's running stack. Torn down with `./meetr down`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import cassandra from 'cassandra-driver';
import type { TestProject } from 'vitest/node';
import { resolveCassandraTarget, type CassandraTarget } from './cassandra-target.js';
import { PROJECT_ROOT } from '../../src/devstack/local-nodes.js';

const run = promisify(execFile);

export interface FunctionalStack {
  readonly baseUrl: string;
  readonly statsUrl: string;
  readonly workerPorts: number[];
  /** Each worker's loopback /metrics listener, in the order of workerPorts. */
  readonly telemetryPorts: number[];
  /** The first roller's /health and /metrics port. */
  readonly rollerPort: number;
  /** The environment `./meetr` commands for this stack need. */
  readonly env: Record<string, string>;
  readonly cassandra: CassandraTarget;
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: FunctionalStack;
  }
}

export interface StackOptions {
  /** Under .local/: the stack's run folder, and its pm2 app name with a `meetr-` prefix. */
  readonly name: string;
  readonly httpPort: number;
  readonly basePort: number;
  readonly target: CassandraTarget;
  /** Settings of this stack, over the suite's own. */
  readonly env: Record<string, string>;
}

/** Brings a stack up with `./meetr up` and tells the tests where it is; returns its teardown. */
export async function bringUpStack(project: TestProject, options: StackOptions): Promise<() => Promise<void>> {
  const { name, httpPort, basePort, target } = options;
  const workers = 2;
  const statsPort = httpPort + 1;
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    MEETR_RUN_DIR: join(PROJECT_ROOT, '.local', name),
    MEETR_APP_NAME: `meetr-${name}`,
    MEETR_HTTP_PORT: String(httpPort),
    MEETR_STATS_PORT: String(statsPort),
    PORT: String(basePort),
    MEETR_WORKERS: String(workers),
    MEETR_ROLLER_PORT: String(basePort + 400),
    MEETR_TELEMETRY_PORT: String(basePort + 200),
    MEETR_KEYSPACE: `${name.slice(0, 1)}_${randomBytes(6).toString('hex')}`,
    ...options.env,
  };
  const up = await run(join(PROJECT_ROOT, 'meetr'), ['up'], {
    env,
    cwd: PROJECT_ROOT,
    maxBuffer: 64 * 1024 * 1024,
  }).catch((error: { stdout?: string; stderr?: string }) => {
    throw new Error(`./meetr up failed:\n${error.stdout ?? ''}\n${error.stderr ?? ''}`);
  });
  console.log(
    up.stdout
      .split('\n')
      .filter((line) => line.startsWith('[meetr]') || line.startsWith('[cassandra]'))
      .join('\n'),
  );
  project.provide('stack', {
    baseUrl: `http://127.0.0.1:${httpPort}`,
    statsUrl: `http://127.0.0.1:${statsPort}`,
    workerPorts: Array.from({ length: workers }, (_, i) => basePort + i),
    telemetryPorts: Array.from({ length: workers }, (_, i) => basePort + 200 + i),
    rollerPort: basePort + 400,
    env,
    cassandra: target,
  });
  return async () => {
    // The keyspace goes first: `./meetr down` may stop the Cassandra it is on.
    await dropKeyspace(target, env.MEETR_KEYSPACE!).catch((error) =>
      console.error(`could not drop ${env.MEETR_KEYSPACE}: ${String(error)}`),
    );
    await run(join(PROJECT_ROOT, 'meetr'), ['down'], { env, cwd: PROJECT_ROOT }).catch((error) =>
      console.error(String(error)),
    );
  };
}

let tearDown: (() => Promise<void>) | undefined;
let release: (() => Promise<void>) | undefined;

export async function setup(project: TestProject): Promise<void> {
  const resolved = await resolveCassandraTarget();
  release = resolved.release;
  tearDown = await bringUpStack(project, {
    name: 'functional',
    basePort: Number(process.env.MEETR_FUNCTIONAL_WORKER_PORT ?? 19001),
    httpPort: Number(process.env.MEETR_FUNCTIONAL_HTTP_PORT ?? 18888),
    target: resolved.target,
    env: {
      MEETR_DEFAULT_TZ: 'Asia/Kolkata',
      MEETR_MAX_BODY_BYTES: String(4 * 1024 * 1024),
      MEETR_MAX_BATCH: '20000',
      MEETR_LARGE_WRITE_PARTITIONS: '2000',
      MEETR_STORAGE_TIMEOUT_MS: '2000',
      MEETR_CONSISTENCY: 'ONE',
      MEETR_MAX_SEARCH_PARTITIONS: '5000',
      CASSANDRA_CONTACT_POINTS: resolved.target.contactPoints.join(','),
      CASSANDRA_LOCAL_DC: resolved.target.localDataCenter,
    },
  });
}

export async function teardown(): Promise<void> {
  await tearDown?.();
  await release?.();
}

async function dropKeyspace(target: CassandraTarget, keyspace: string): Promise<void> {
  const client = new cassandra.Client({
    contactPoints: [...target.contactPoints],
    localDataCenter: target.localDataCenter,
  });
  try {
    await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  } finally {
    await client.shutdown();
  }
}
