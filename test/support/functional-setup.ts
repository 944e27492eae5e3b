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
import { PROJECT_ROOT } from '../../src/devstack/local-cassandra.js';
import { resolveCassandraTarget, type CassandraTarget } from './cassandra-target.js';

const run = promisify(execFile);

export interface FunctionalStack {
  readonly baseUrl: string;
  readonly statsUrl: string;
  readonly workerPorts: number[];
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

let env: Record<string, string> | undefined;
let release: (() => Promise<void>) | undefined;
let target: CassandraTarget | undefined;

export async function setup(project: TestProject): Promise<void> {
  const resolved = await resolveCassandraTarget();
  target = resolved.target;
  release = resolved.release;
  const workers = 2;
  const basePort = Number(process.env.MEETR_FUNCTIONAL_WORKER_PORT ?? 19001);
  const httpPort = Number(process.env.MEETR_FUNCTIONAL_HTTP_PORT ?? 18888);
  const statsPort = httpPort + 1;
  env = {
    ...(process.env as Record<string, string>),
    MEETR_RUN_DIR: join(PROJECT_ROOT, '.local', 'functional'),
    MEETR_APP_NAME: 'meetr-functional',
    MEETR_HTTP_PORT: String(httpPort),
    MEETR_STATS_PORT: String(statsPort),
    PORT: String(basePort),
    MEETR_WORKERS: String(workers),
    MEETR_ROLLER_PORT: String(basePort + 400),
    MEETR_KEYSPACE: `f_${randomBytes(6).toString('hex')}`,
    MEETR_DEFAULT_TZ: 'Asia/Kolkata',
    MEETR_MAX_BODY_BYTES: String(4 * 1024 * 1024),
    MEETR_MAX_BATCH: '20000',
    MEETR_STORAGE_TIMEOUT_MS: '2000',
    MEETR_CONSISTENCY: 'ONE',
    MEETR_MAX_SEARCH_PARTITIONS: '5000',
    CASSANDRA_CONTACT_POINTS: target.contactPoints.join(','),
    CASSANDRA_LOCAL_DC: target.localDataCenter,
  };
  const up = await run(join(PROJECT_ROOT, 'meetr'), ['up'], { env, cwd: PROJECT_ROOT, maxBuffer: 64 * 1024 * 1024 }).catch((error: { stdout?: string; stderr?: string }) => {
    throw new Error(`./meetr up failed:\n${error.stdout ?? ''}\n${error.stderr ?? ''}`);
  });
  console.log(up.stdout.split('\n').filter((line) => line.startsWith('[meetr]')).join('\n'));
  project.provide('stack', {
    baseUrl: `http://127.0.0.1:${httpPort}`,
    statsUrl: `http://127.0.0.1:${statsPort}`,
    workerPorts: Array.from({ length: workers }, (_, i) => basePort + i),
    rollerPort: basePort + 400,
    env,
    cassandra: target,
  });
}

export async function teardown(): Promise<void> {
  if (env !== undefined) {
    await run(join(PROJECT_ROOT, 'meetr'), ['down'], { env, cwd: PROJECT_ROOT }).catch((error) => console.error(String(error)));
    await dropKeyspace(env.MEETR_KEYSPACE!).catch((error) => console.error(`could not drop ${env?.MEETR_KEYSPACE}: ${String(error)}`));
  }
  await release?.();
}

async function dropKeyspace(keyspace: string): Promise<void> {
  if (target === undefined) return;
  const client = new cassandra.Client({ contactPoints: target.contactPoints, localDataCenter: target.localDataCenter });
  try {
    await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  } finally {
    await client.shutdown();
  }
}
