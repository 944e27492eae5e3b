/** vitest global set-up for the integration project: one Cassandra per run. */
import type { TestProject } from 'vitest/node';
import { resolveCassandraTarget, type CassandraTarget } from './cassandra-target.js';

declare module 'vitest' {
  export interface ProvidedContext {
    cassandra: CassandraTarget;
  }
}

let release: (() => Promise<void>) | undefined;

export async function setup(project: TestProject): Promise<void> {
  const resolved = await resolveCassandraTarget();
  release = resolved.release;
  project.provide('cassandra', resolved.target);
}

export async function teardown(): Promise<void> {
  await release?.();
}
