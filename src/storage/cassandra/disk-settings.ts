/**
 * Where Cassandra keeps its data and commit log, and what it does when a disk fails,
 * as the coordinator reports it in `system_views.settings` (Cassandra 4.0 and later).
 */
import type { Client } from 'cassandra-driver';
import type { DiskSettings } from '../ports.js';

const NAMES = ['data_file_directories', 'commitlog_directory', 'disk_failure_policy', 'commit_failure_policy'] as const;

export async function readDiskSettings(client: Client): Promise<DiskSettings> {
  const result = await client.execute('SELECT name, value FROM system_views.settings');
  const values = new Map<string, string>();
  for (const row of result.rows) {
    const name = String(row.get('name'));
    if ((NAMES as readonly string[]).includes(name)) values.set(name, String(row.get('value') ?? ''));
  }
  // A list setting reads as "[/a, /b]".
  const list = (text: string | undefined): string[] =>
    (text ?? '')
      .replace(/^\[|\]$/g, '')
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '' && part !== 'null');
  return {
    dataDirectories: list(values.get('data_file_directories')),
    commitLogDirectory: values.get('commitlog_directory') ?? '',
    diskFailurePolicy: values.get('disk_failure_policy') ?? 'unknown',
    commitFailurePolicy: values.get('commit_failure_policy') ?? 'unknown',
  };
}
