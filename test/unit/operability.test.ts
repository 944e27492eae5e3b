/** Logs a pipeline can read, request ids, the log keeper, the telemetry listener and disk reports. */
import {
  mkdtempSync,
  openSync,
  readdirSync,
  statSync,
  writeSync,
  closeSync,
  writeFileSync,
  readFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { recordingLog } from '../support/recording-log.js';
import { composeApp } from '../../src/compose.js';
import { serveTelemetry } from '../../src/http/telemetry-server.js';
import { createLog } from '../../src/log.js';
import { keepLogs } from '../../src/ops/log-keeper.js';
import { spaceOf, watchDisks } from '../../src/storage/disk-report.js';
import { InMemoryPointStore } from '../../src/storage/memory/in-memory-point-store.js';
import { createClockWatch } from '../../src/time/clock-watch.js';

function capture(): { stream: PassThrough; lines: () => Array<Record<string, unknown>> } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('structured logs', () => {
  it('write one JSON object per line with time, level, process, msg and the fields of the event', async () => {
    const { stream, lines } = capture();
    const log = createLog('worker 9001', stream);
    log.info('listening');
    log.warn('503 deadline_exceeded on GET /x', { request_id: 'r-1', code: 'deadline_exceeded' });
    log.with({ shard: 3 }).error('rolling failed', { error: 'boom' });
    await new Promise((resolve) => setImmediate(resolve));
    const [first, second, third] = lines();
    expect(first).toMatchObject({ level: 'info', process: 'worker 9001', msg: 'listening' });
    expect(new Date(String(first!.time)).toISOString()).toBe(first!.time);
    expect(second).toMatchObject({ level: 'warn', request_id: 'r-1', code: 'deadline_exceeded' });
    expect(third).toMatchObject({ level: 'error', shard: 3, error: 'boom' });
  });
});

describe('request ids', () => {
  const refusing = async () => {
    const watch = createClockWatch({ serverTimeMs: async () => Date.now() + 120_000, maxSkewMs: 1_000 });
    await watch.check();
    return watch;
  };

  it("are HAProxy's X-Request-Id, echoed in the answer and in the worker's log line about the request", async () => {
    const warnings: Array<{ message: string; fields: Readonly<Record<string, unknown>> }> = [];
    const app = composeApp({
      config: loadConfig({}),
      storage: new InMemoryPointStore().asStorage(),
      workerId: 'ids',
      clockWatch: await refusing(),
      log: { ...recordingLog(), warn: (message, fields = {}) => void warnings.push({ message, fields }) },
    });
    const id = '7F000001:D2A4_7F000001:22B8_6561F3C2_0001:1D2C';
    const response = await app.request('/1.0/metrics', {
      method: 'POST',
      headers: { 'X-Request-Id': id },
      body: new URLSearchParams({ metric_id: 'm', ts: '1', value: '1' }),
    });
    expect(response.status).toBe(503);
    expect(response.headers.get('x-request-id')).toBe(id);
    expect(warnings).toEqual([
      {
        message: expect.stringMatching(/^503 clock_skew on POST \/1.0\/metrics/),
        fields: { request_id: id, method: 'POST', path: '/1.0/metrics', code: 'clock_skew' },
      },
    ]);
  });

  it('are made by the worker when none came or what came is not one, and client errors log nothing', async () => {
    const warnings: string[] = [];
    const app = composeApp({
      config: loadConfig({}),
      storage: new InMemoryPointStore().asStorage(),
      workerId: 'ids',
      log: { ...recordingLog(), warn: (message) => void warnings.push(message) },
    });
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    expect((await app.request('/health')).headers.get('x-request-id')).toMatch(uuid);
    expect(
      (await app.request('/health', { headers: { 'X-Request-Id': 'a" {"level":"error"}' } })).headers.get(
        'x-request-id',
      ),
    ).toMatch(uuid);
    expect(
      (await app.request('/health', { headers: { 'X-Request-Id': 'x'.repeat(200) } })).headers.get('x-request-id'),
    ).toMatch(uuid);
    expect((await app.request('/1.0/metrics?metric=m')).status).toBe(400);
    expect(warnings).toEqual([]);
  });

  it('log at most ten 5xx lines per code every 10 s, then say how many were left out', async () => {
    const warnings: string[] = [];
    const app = composeApp({
      config: loadConfig({}),
      storage: new InMemoryPointStore().asStorage(),
      workerId: 'ids',
      clockWatch: await refusing(),
      log: { ...recordingLog(), warn: (message) => void warnings.push(message) },
    });
    for (let i = 0; i < 25; i++)
      expect((await app.request('/1.0/metrics?metric=m&from=0&to=1&aggregation=sum')).status).toBe(503);
    expect(warnings).toHaveLength(10);
  });
});

describe('the telemetry listener', () => {
  it('serves /metrics (and /health when given) on loopback, 404 for anything else, 405 for other methods', async () => {
    const app = composeApp({
      config: loadConfig({}),
      storage: new InMemoryPointStore().asStorage(),
      workerId: 'telemetry',
    });
    const server = await serveTelemetry({ registry: app.telemetry.registry, port: 0 });
    try {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/process_cpu_seconds_total\{worker="telemetry"\}/);
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })).status).toBe(405);
      // And the public app has none.
      expect((await app.request('/metrics')).status).toBe(404);
      expect((await app.request('/%6Detrics')).status).toBe(404);
    } finally {
      server.close();
    }
  });
});

describe('the log keeper', () => {
  it('keeps a folder under its cap while writers append, rotating each log to .1 and truncating it in place', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logs-'));
    const cap = 200_000;
    const writers = ['haproxy.log', 'worker.out-0.log', 'worker.out-1.log'].map((name) =>
      openSync(join(dir, name), 'a'),
    );
    const line = Buffer.from(`${JSON.stringify({ level: 'info', msg: 'x'.repeat(200) })}\n`);
    let written = 0;
    let largest = 0;
    for (let round = 0; round < 200; round++) {
      for (const fd of writers) for (let i = 0; i < 10; i++) written += writeSync(fd, line);
      const { bytes } = await keepLogs(dir, cap);
      const onDisk = readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
      expect(onDisk).toBe(bytes);
      largest = Math.max(largest, onDisk);
    }
    expect(written).toBeGreaterThan(5 * cap);
    expect(largest).toBeLessThanOrEqual(cap);
    expect(readdirSync(dir).sort()).toEqual([
      'haproxy.log',
      'haproxy.log.1',
      'worker.out-0.log',
      'worker.out-0.log.1',
      'worker.out-1.log',
      'worker.out-1.log.1',
    ]);
    // The writers' descriptors still append to the live files, from their new start.
    writeSync(writers[0]!, Buffer.from('last line\n'));
    expect(readFileSync(join(dir, 'haproxy.log'), 'utf8').endsWith('last line\n')).toBe(true);
    for (const fd of writers) closeSync(fd);
  });

  it('drops copies first, then empties the largest logs, when more files leave the folder over its cap', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logs-'));
    for (const name of ['a.log', 'a.log.1', 'b.log.1', 'c.log']) writeFileSync(join(dir, name), Buffer.alloc(40_000));
    const { bytes } = await keepLogs(dir, 60_000);
    expect(bytes).toBeLessThanOrEqual(48_000);
    expect(readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0)).toBe(bytes);
  });
});

describe('disk reports', () => {
  it("give free space of Cassandra's directories on this host, and say when one is elsewhere", async () => {
    const here = await spaceOf(tmpdir());
    expect(here.freeBytes).toBeGreaterThan(0);
    expect(here.totalBytes).toBeGreaterThanOrEqual(here.freeBytes!);
    expect(await spaceOf('/no/such/directory')).toEqual({
      path: '/no/such/directory',
      freeBytes: null,
      totalBytes: null,
      freePercent: null,
    });
    const disks = watchDisks(async () => ({
      dataDirectories: [tmpdir()],
      commitLogDirectory: '/elsewhere',
      diskFailurePolicy: 'stop',
      commitFailurePolicy: 'stop',
    }));
    try {
      for (let i = 0; i < 50 && disks.current() === undefined; i++)
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect(disks.current()).toMatchObject({
        data: [{ path: tmpdir(), freeBytes: expect.any(Number) }],
        commitLog: { path: '/elsewhere', freeBytes: null },
        diskFailurePolicy: 'stop',
      });
    } finally {
      disks.stop();
    }
  });
});
