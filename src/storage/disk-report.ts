/**
 * Free space where Cassandra keeps its data and its commit log, for /health and
 * `./meetr status`. The directories come from Cassandra (disk-settings.ts); their
 * space is read here with statfs when they are on this host (a local node), and
 * said to be elsewhere when not. Refreshed in the background every REFRESH_MS, so a
 * health check never waits on a disk.
 */
import { statfs } from 'node:fs/promises';
import type { DiskSettings } from './ports.js';

export interface DirectorySpace {
  readonly path: string;
  /** Bytes free to an unprivileged writer (statfs' bavail), or null when the path is not on this host. */
  readonly freeBytes: number | null;
  readonly totalBytes: number | null;
  readonly freePercent: number | null;
}

export interface DiskReport {
  readonly data: readonly DirectorySpace[];
  readonly commitLog: DirectorySpace | null;
  readonly diskFailurePolicy: string;
  readonly commitFailurePolicy: string;
}

const REFRESH_MS = 5_000;

export async function spaceOf(path: string): Promise<DirectorySpace> {
  try {
    const stats = await statfs(path);
    const free = stats.bavail * stats.bsize;
    const total = stats.blocks * stats.bsize;
    return {
      path,
      freeBytes: free,
      totalBytes: total,
      freePercent: total === 0 ? null : Math.round((free / total) * 1000) / 10,
    };
  } catch {
    return { path, freeBytes: null, totalBytes: null, freePercent: null };
  }
}

/** The latest report (undefined until the settings were read once), refreshed until `stop`. */
export function watchDisks(settings: () => Promise<DiskSettings>): {
  readonly current: () => DiskReport | undefined;
  readonly stop: () => void;
} {
  let known: DiskSettings | undefined;
  let report: DiskReport | undefined;
  let stopped = false;
  const refresh = async (): Promise<void> => {
    try {
      known ??= await settings();
      const [data, commitLog] = await Promise.all([
        Promise.all(known.dataDirectories.map(spaceOf)),
        known.commitLogDirectory === '' ? null : spaceOf(known.commitLogDirectory),
      ]);
      report = {
        data,
        commitLog,
        diskFailurePolicy: known.diskFailurePolicy,
        commitFailurePolicy: known.commitFailurePolicy,
      };
    } catch {
      // Cassandra not reachable: the last report stands, and /health says so on its own.
    }
  };
  void refresh();
  const timer = setInterval(() => {
    if (!stopped) void refresh();
  }, REFRESH_MS);
  timer.unref();
  return {
    current: () => report,
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
