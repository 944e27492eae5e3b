/**
 * Keeps a log folder under a size: every `*.log` in it may grow to its share of the
 * cap, then is copied to `<name>.1` (replacing the previous copy) and truncated in
 * place, as logrotate's copytruncate does. The writers (pm2, HAProxy's standard
 * output) hold their files open in append mode, so they go on writing at the new end
 * without being told; a line written between the copy and the truncation is lost.
 * When the folder is still over the cap (more files since, a burst), copies go first,
 * then the largest logs are truncated.
 */
import { copyFile, readdir, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';

/** The folder's size is kept under this share of the cap, leaving room for what is written between two passes. */
const HEADROOM = 0.8;

export interface KeepResult {
  /** Logs copied aside and truncated in this pass. */
  readonly rotated: readonly string[];
  /** Bytes in the folder after the pass. */
  readonly bytes: number;
}

async function sizes(dir: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (const name of await readdir(dir)) {
    if (!/\.log(\.1)?$/.test(name)) continue;
    try {
      const info = await stat(join(dir, name));
      if (info.isFile()) found.set(name, info.size);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** One pass over `dir` with a cap of `maxBytes`. */
export async function keepLogs(dir: string, maxBytes: number): Promise<KeepResult> {
  const files = await sizes(dir);
  const live = [...files.keys()].filter((name) => name.endsWith('.log'));
  const share = Math.floor((maxBytes * HEADROOM) / Math.max(1, 2 * live.length));
  const rotated: string[] = [];
  for (const name of live) {
    if (files.get(name)! <= share) continue;
    await copyFile(join(dir, name), join(dir, `${name}.1`));
    await truncate(join(dir, name), 0);
    files.set(`${name}.1`, files.get(name)!);
    files.set(name, 0);
    rotated.push(name);
  }
  let bytes = [...files.values()].reduce((a, b) => a + b, 0);
  const byLargest = (names: string[]): string[] => names.sort((a, b) => files.get(b)! - files.get(a)!);
  for (const name of byLargest([...files.keys()].filter((n) => n.endsWith('.1')))) {
    if (bytes <= maxBytes * HEADROOM) break;
    await rm(join(dir, name), { force: true });
    bytes -= files.get(name)!;
    files.delete(name);
  }
  for (const name of byLargest([...files.keys()])) {
    if (bytes <= maxBytes * HEADROOM) break;
    await truncate(join(dir, name), 0);
    bytes -= files.get(name)!;
    files.set(name, 0);
  }
  return { rotated, bytes };
}
