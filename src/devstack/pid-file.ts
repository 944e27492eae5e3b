/**
 * Pid files that name our own processes only. A pid is reused: after a reboot or
 * a crash the number in a stale pid file may belong to anything. Before a pid from a
 * file is signalled, the process must still be the one recorded: its command line
 * (checked by the caller) and its start time (/proc/<pid>/stat, in clock ticks since
 * boot), recorded beside the pid file in `<file>.identity` when it was started.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

export interface ProcessIdentity {
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
  readonly startTicks: string;
  readonly cmdline: readonly string[];
}

/** What /proc says of `pid` now, or undefined when it is gone or cannot be read. */
export function processIdentity(pid: number): ProcessIdentity | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces and ')': fields resume after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTicks = fields[19]; // field 22 overall; this list starts at field 3
    if (startTicks === undefined) return undefined;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\u0000')
      .filter((arg) => arg !== '');
    return { pid, startTicks, cmdline };
  } catch {
    return undefined;
  }
}

function pidIn(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim().split(/\s+/)[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

const identityFile = (pidFile: string): string => `${pidFile}.identity`;

/** Writes `pid` to `pidFile` (when given) and records the identity of the process the file names. */
export function recordPid(pidFile: string, pid?: number): ProcessIdentity {
  if (pid !== undefined) writeFileSync(pidFile, `${pid}\n`);
  const named = pidIn(pidFile);
  const identity = named === undefined ? undefined : processIdentity(named);
  if (identity === undefined) throw new Error(`${pidFile} does not name a running process`);
  writeFileSync(
    identityFile(pidFile),
    `${JSON.stringify({ pid: identity.pid, startTicks: identity.startTicks, cmdline: identity.cmdline })}\n`,
  );
  return identity;
}

/**
 * The pid in `pidFile` when that process runs and is ours: `isOurs` accepts its
 * command line and, when an identity was recorded, it started when the recorded one
 * did. Anything else (gone, reused by another program, a later process of the same
 * program) gives undefined.
 */
export function ownedPid(pidFile: string, isOurs: (cmdline: readonly string[]) => boolean): number | undefined {
  const pid = pidIn(pidFile);
  if (pid === undefined) return undefined;
  const now = processIdentity(pid);
  if (now === undefined || !isOurs(now.cmdline)) return undefined;
  if (existsSync(identityFile(pidFile))) {
    try {
      const recorded = JSON.parse(readFileSync(identityFile(pidFile), 'utf8')) as Partial<ProcessIdentity>;
      if (recorded.pid !== pid || recorded.startTicks !== now.startTicks) return undefined;
    } catch {
      return undefined;
    }
  }
  return pid;
}

/** Removes a pid file and its identity. */
export function forgetPid(pidFile: string): void {
  rmSync(pidFile, { force: true });
  rmSync(identityFile(pidFile), { force: true });
}
