/**
 * CPU time of the processes a benchmark runs against, read from /proc (Linux), so
 * a figure can say where a request's CPU went: workers, HAProxy, Cassandra, the
 * bench's own client. Processes that cannot be found (another machine) read as undefined.
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of one process in seconds, or undefined when it is gone. */
function cpuSecondsOfPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // fields 14 and 15 of stat(5)
  } catch {
    return undefined;
  }
}

/** Pids whose command line contains every one of `parts` (NUL-separated arguments joined by spaces). */
export function findPids(...parts: string[]): number[] {
  if (os.platform() !== 'linux') return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\u0000', ' ');
      if (parts.every((part) => cmdline.includes(part))) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** The summed CPU seconds of `pids`, or undefined when none of them can be read. */
export function cpuSecondsOf(pids: readonly number[]): number | undefined {
  let total: number | undefined;
  for (const pid of pids) {
    const seconds = cpuSecondsOfPid(pid);
    if (seconds !== undefined) total = (total ?? 0) + seconds;
  }
  return total;
}

/** This process's own CPU seconds (the bench's client side). */
export function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}
