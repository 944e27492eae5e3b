/** Pid files that name our own processes only (devstack/pid-file.ts). */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { forgetPid, ownedPid, processIdentity, recordPid } from '../../src/devstack/pid-file.js';

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }
});

function sleeper(): ChildProcess {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

const isSleep = (cmdline: readonly string[]): boolean => cmdline[0] === 'sleep';

describe('pid files', () => {
  it('name a process that runs our command line and started when recorded', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pid-')), 'x.pid');
    const child = sleeper();
    const recorded = recordPid(file, child.pid);
    expect(recorded).toMatchObject({ pid: child.pid, cmdline: ['sleep', '60'] });
    expect(ownedPid(file, isSleep)).toBe(child.pid);
  });

  it('never name an unrelated process a stale pid file points at', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pid-')), 'x.pid');
    // This test's own process: alive, but not a sleep.
    writeFileSync(file, `${process.pid}\n`);
    expect(ownedPid(file, isSleep)).toBeUndefined();
    // A sleep, but not the one recorded: the identity's start time is another process's.
    const first = sleeper();
    recordPid(file, first.pid);
    const second = sleeper();
    const identity = JSON.parse(readFileSync(`${file}.identity`, 'utf8')) as { startTicks: string };
    writeFileSync(file, `${second.pid}\n`);
    writeFileSync(
      `${file}.identity`,
      JSON.stringify({
        pid: second.pid,
        startTicks: String(Number(identity.startTicks) - 1),
        cmdline: ['sleep', '60'],
      }),
    );
    expect(processIdentity(second.pid!)).toBeDefined();
    expect(ownedPid(file, isSleep)).toBeUndefined();
  });

  it('name nothing once the process is gone or the file is forgotten', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pid-')), 'x.pid');
    const child = sleeper();
    recordPid(file, child.pid);
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(ownedPid(file, isSleep)).toBeUndefined();
    forgetPid(file);
    expect(ownedPid(file, isSleep)).toBeUndefined();
    expect(() => recordPid(file)).toThrow(/does not name a running process/);
  });
});
