import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Replication } from '../../config.js';
import { cassandraNowMs, type CassandraClient } from './client.js';
import { initRollShards } from './upgrade.js';

/** The project's `cql/` folder. */
export const CQL_DIR = fileURLToPath(new URL('../../../cql/', import.meta.url));

/** Replication as a CQL map literal. Names and numbers were validated by config. */
export function replicationCql(replication: Replication): string {
  if (replication.class === 'SimpleStrategy') {
    return `{'class': 'SimpleStrategy', 'replication_factor': ${replication.replicationFactor}}`;
  }
  const dataCenters = Object.entries(replication.dataCenters).map(([dc, factor]) => `'${dc}': ${factor}`);
  return `{'class': 'NetworkTopologyStrategy', ${dataCenters.join(', ')}}`;
}

/** The statements of the numbered `.cql` files in `dir`, in file order, placeholders filled. */
export async function schemaStatements(keyspace: string, replication: Replication, dir = CQL_DIR): Promise<string[]> {
  const files = (await readdir(dir)).filter((name) => /^\d+_.*\.cql$/.test(name)).sort();
  const statements: string[] = [];
  for (const file of files) {
    const text = (await readFile(join(dir, file), 'utf8'))
      .replace(/^\s*--.*$/gm, '')
      .replaceAll('${keyspace}', keyspace)
      .replaceAll('${replication}', replicationCql(replication));
    statements.push(
      ...text
        .split(/;\s*(?:\n|$)/)
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    );
  }
  return statements;
}

/**
 * Applies every schema file in order, then creates the roller's shard rows; each
 * step is idempotent, so migrating twice is harmless.
 */
export async function migrate(
  client: CassandraClient,
  keyspace: string,
  replication: Replication,
  dir = CQL_DIR,
): Promise<number> {
  const statements = await schemaStatements(keyspace, replication, dir);
  for (const statement of statements) {
    await client.execute(statement, [], { prepare: false });
  }
  // Seeded from Cassandra's clock, not this host's: one ahead would mark slots rolled that workers still queue into.
  await initRollShards(client, keyspace, await cassandraNowMs(client));
  return statements.length;
}
