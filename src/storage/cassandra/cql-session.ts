/**
 * A Cassandra session at given consistency levels: statements run with driver
 * errors classified (errors.ts), reads paged, single-partition writes batched in
 * chunks, lightweight transactions answered by whether they applied.
 */
import type cassandra from 'cassandra-driver';
import type { CassandraClient, StatementConsistency } from './client.js';
import { classifyDriverError } from './errors.js';

export class CqlSession {
  protected readonly readOptions: { readonly consistency?: number };
  protected readonly writeOptions: { readonly consistency?: number; readonly logged: false };

  constructor(
    protected readonly client: CassandraClient,
    consistency?: StatementConsistency,
  ) {
    this.readOptions = consistency === undefined ? {} : { consistency: consistency.read };
    this.writeOptions =
      consistency === undefined ? { logged: false } : { consistency: consistency.write, logged: false };
  }

  protected async applied(operation: string, query: string, params: unknown[]): Promise<boolean> {
    // Lightweight transactions at SERIAL for the read phase; the write phase at the write level.
    // Not idempotent: after a timeout, whether it applied is unknown, and a retry could answer "not applied" to an update that was.
    const result = await this.run(operation, () =>
      this.client.execute(query, params, { ...this.writeOptions, isIdempotent: false }),
    );
    return result.first()?.get('[applied]') === true;
  }

  /** Runs a read page by page, calling `visit` per row; an exception from `visit` stops it. */
  protected async forEachRow(
    operation: string,
    query: string,
    params: unknown[],
    visit: (row: cassandra.types.Row) => void,
  ): Promise<void> {
    try {
      // A page at a time: one await per 5,000 rows, not one per row (a month's chunks are 72,000 rows).
      for await (const page of pages(this.client, query, params, this.readOptions)) for (const row of page) visit(row);
    } catch (error) {
      throw classifyDriverError(error, operation);
    }
  }

  /**
   * Single-partition statements as unlogged batches of at most `size`, one after
   * the other, so no batch nears a cluster's batch size limits (by default
   * Cassandra warns at 5 KiB and refuses at 50 KiB).
   */
  protected async batchInChunks(
    operation: string,
    queries: ReadonlyArray<{ query: string; params: unknown[] }>,
    size: number,
  ): Promise<void> {
    for (let start = 0; start < queries.length; start += size)
      await this.batchOnce(operation, queries.slice(start, start + size));
  }

  /** One statement: the query alone, or an unlogged batch of them. */
  protected async batchOnce(
    operation: string,
    queries: ReadonlyArray<{ query: string; params: unknown[] }>,
  ): Promise<void> {
    const [first] = queries;
    if (queries.length === 1 && first !== undefined)
      await this.run(operation, () => this.client.execute(first.query, first.params, this.writeOptions));
    else if (queries.length > 1) await this.run(operation, () => this.client.batch([...queries], this.writeOptions));
  }

  protected async run<T>(operation: string, statement: () => Promise<T>): Promise<T> {
    try {
      return await statement();
    } catch (error) {
      throw classifyDriverError(error, operation);
    }
  }
}

/** The rows of a read, fetched page by page (5,000 rows each): never all of them in memory. */
export async function* pagedRows(
  client: CassandraClient,
  query: string,
  params: unknown[],
  options: { readonly consistency?: number } = {},
): AsyncGenerator<cassandra.types.Row> {
  for await (const page of pages(client, query, params, options)) yield* page;
}

/** The pages of a read (5,000 rows each), one after the other. */
async function* pages(
  client: CassandraClient,
  query: string,
  params: unknown[],
  options: { readonly consistency?: number },
): AsyncGenerator<readonly cassandra.types.Row[]> {
  let pageState: string | undefined;
  do {
    const result = await client.execute(query, params, {
      ...options,
      prepare: true,
      fetchSize: 5000,
      ...(pageState ? { pageState } : {}),
    });
    yield result.rows;
    pageState = result.pageState ?? undefined;
  } while (pageState);
}
