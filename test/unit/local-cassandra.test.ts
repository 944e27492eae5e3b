/** The local node's stop never signals a process that is not its Cassandra (a stale pid file). */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { clusterStatus, ringWitness } from '../../src/devstack/cluster-status.js';
import { stopLocalCassandra } from '../../src/devstack/local-cassandra.js';
import { localNodes, PROJECT_ROOT, clusterNodeYaml } from '../../src/devstack/local-nodes.js';
import { heapFor } from '../../src/devstack/node-process.js';
import { allSeeAllUp } from '../../src/devstack/ring.js';

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

describe("a local node's heap", () => {
  const GIB = 1024 ** 3;

  it("is sized as Cassandra sizes its own, on each node's share of the memory, unless set", () => {
    expect(heapFor('auto', 1, 24 * GIB)).toBe('6144M');
    expect(heapFor('auto', 3, 24 * GIB)).toBe('2048M');
    expect(heapFor('auto', 1, 64 * GIB)).toBe('8192M');
    expect(heapFor('auto', 1, 3 * GIB)).toBe('1024M');
    expect(heapFor('auto', 1, 1 * GIB)).toBe('512M');
    expect(heapFor('768M', 3, 24 * GIB)).toBe('768M');
  });
});

describe('a local cluster of three nodes', () => {
  const template = readFileSync(join(PROJECT_ROOT, 'scripts', 'cassandra', 'cassandra.yaml'), 'utf8');
  const nodes = localNodes(3, '/srv/meetr');

  it('gives each node its own address, folders and JMX port, apart from the single node', () => {
    expect(nodes.map((node) => [node.address, node.contactPoint, node.jmxPort, node.data])).toEqual([
      ['127.0.0.1', '127.0.0.1:9042', 7199, '/srv/meetr/.local/cassandra/cluster-3/node-1/data'],
      ['127.0.0.2', '127.0.0.2:9042', 7299, '/srv/meetr/.local/cassandra/cluster-3/node-2/data'],
      ['127.0.0.3', '127.0.0.3:9042', 7399, '/srv/meetr/.local/cassandra/cluster-3/node-3/data'],
    ]);
    expect(localNodes(1, '/srv/meetr')[0]).toMatchObject({
      address: '127.0.0.1',
      data: '/srv/meetr/.local/cassandra/data',
      clusterName: 'meetr-local',
    });
  });

  it('writes each node a cassandra.yaml: its address, all three as seeds, evenly spaced tokens, a cluster name of its own', () => {
    const yamls = nodes.map((node) => clusterNodeYaml(template, node, 3));
    for (const [i, yaml] of yamls.entries()) {
      expect(yaml).toMatch(new RegExp(`^listen_address: 127\\.0\\.0\\.${i + 1}$`, 'm'));
      expect(yaml).toMatch(new RegExp(`^rpc_address: 127\\.0\\.0\\.${i + 1}$`, 'm'));
      expect(yaml).toMatch(/^cluster_name: meetr-local-3$/m);
      expect(yaml).toContain('- seeds: "127.0.0.1:7000,127.0.0.2:7000,127.0.0.3:7000"');
    }
    const tokens = yamls.map((yaml) => BigInt(/^initial_token: (-?\d+)$/m.exec(yaml)![1]!));
    expect(tokens).toEqual([
      -(2n ** 63n),
      -(2n ** 63n) + 6148914691236517205n,
      -(2n ** 63n) + 2n * 6148914691236517205n,
    ]);
  });
});

describe('the status of a local cluster', () => {
  const nodes = localNodes(3, '/srv/meetr');
  const ours = { releaseVersion: '5.0.9', clusterName: 'meetr-local-3' };

  it('gives each node its state as the first node of the cluster that answers sees it', () => {
    const ring = [
      { state: 'UN', address: '127.0.0.1' },
      { state: 'DN', address: '127.0.0.2' },
      { state: 'UN', address: '127.0.0.3' },
    ];
    const { lines, ok } = clusterStatus(nodes, [ours, undefined, ours], ring);
    expect(lines).toEqual([
      'node 1 127.0.0.1: Cassandra 5.0.9 answers CQL; up, normal as node 1 sees it (data: /srv/meetr/.local/cassandra/cluster-3/node-1/data)',
      'node 2 127.0.0.2: does not answer CQL (data: /srv/meetr/.local/cassandra/cluster-3/node-2/data)',
      'node 3 127.0.0.3: Cassandra 5.0.9 answers CQL; up, normal as node 1 sees it (data: /srv/meetr/.local/cassandra/cluster-3/node-3/data)',
    ]);
    expect(ok).toBe(false);
    expect(clusterStatus(nodes, [ours, ours, ours], ring).ok).toBe(true);
  });

  it('tells apart the one-node Cassandra answering on 127.0.0.1, and asks the ring of a node of the cluster', () => {
    const single = { releaseVersion: '5.0.9', clusterName: 'meetr-local' };
    const answers = [single, ours, undefined];
    expect(ringWitness(nodes, answers)?.index).toBe(2);
    const { lines, ok } = clusterStatus(nodes, answers, [{ state: 'UN', address: '127.0.0.2' }]);
    expect(lines[0]).toBe(
      'node 1 127.0.0.1: answers CQL for the cluster "meetr-local", not "meetr-local-3" (./meetr down, then MEETR_LOCAL_NODES=3 ./meetr up) (data: /srv/meetr/.local/cassandra/cluster-3/node-1/data)',
    );
    expect(lines[1]).toContain('up, normal as node 2 sees it');
    expect(ok).toBe(false);
  });
});

describe('a ring seen up', () => {
  const nodes = localNodes(3, '/srv/meetr');
  const up = nodes.map((node) => ({ state: 'UN', address: node.address }));

  it('is one where every node sees every node up and normal', () => {
    expect(allSeeAllUp(nodes, [up, up, up])).toBe(true);
    expect(allSeeAllUp(nodes, [up, up, up.map((member, i) => (i === 1 ? { ...member, state: 'UJ' } : member))])).toBe(
      false,
    );
    expect(allSeeAllUp(nodes, [up, up.slice(0, 2), up])).toBe(false);
    expect(allSeeAllUp(nodes, [up, undefined, up])).toBe(false);
  });
});
