/** The local node's stop never signals a process that is not its Cassandra (a stale pid file). */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stopLocalCassandra } from '../../src/devstack/local-cassandra.js';

describe('stopping the local Cassandra', () => {
  it('leaves alone whatever process now holds the pid of a stale pid file', async () => {
    const root = mkdtempSync(join(tmpdir(), 'meetr-stale-'));
    mkdirSync(join(root, '.local', 'cassandra'), { recursive: true });
    const bystander = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(join(root, '.local', 'cassandra', 'cassandra.pid'), `${bystander.pid}\n`);
      const lines: string[] = [];
      await stopLocalCassandra({ root, log: (line) => lines.push(line) });
      expect(bystander.exitCode).toBeNull();
      expect(bystander.signalCode).toBeNull();
      expect(() => process.kill(bystander.pid!, 0)).not.toThrow();
      expect(lines.join('\n')).not.toMatch(/stopping Cassandra/);
    } finally {
      bystander.kill('SIGKILL');
    }
  });
});
