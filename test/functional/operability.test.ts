/**
 * The operability tier: request ids from HAProxy to a worker's log, logs that stay
 * under MEETR_LOG_MAX_MB under a load that writes more, disk space on /health and
 * `./meetr status`, and remote-write and OTLP bodies of millions of empty series or
 * data points refused cheaply.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { compressSync } from 'snappy';
import { describe, expect, inject, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { PROJECT_ROOT } from '../../src/devstack/local-nodes.js';

const stack = inject('stack');
const logs = join(stack.env.MEETR_RUN_DIR!, 'logs');
const run = promisify(execFile);

async function meetr(args: string[], env: Record<string, string>): Promise<string> {
  return (await run(join(PROJECT_ROOT, 'meetr'), args, { env, cwd: PROJECT_ROOT, maxBuffer: 64 * 1024 * 1024 })).stdout;
}

/** Every JSON line of the stack's log files whose name starts with `prefix`. */
function logLines(prefix: string): Array<Record<string, unknown>> {
  return readdirSync(logs)
    .filter((name) => name.startsWith(prefix) && /\.log(\.1)?$/.test(name)) // with the copy a rotation just made
    .flatMap((name) => readFileSync(join(logs, name), 'utf8').split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const folderBytes = (): number => readdirSync(logs).reduce((sum, name) => sum + statSync(join(logs, name)).size, 0);

/** Each worker's resident memory, in the order of stack.telemetryPorts. */
async function workerRss(): Promise<number[]> {
  const texts = await Promise.all(
    stack.telemetryPorts.map(async (port) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text()),
  );
  return texts.map((text) => Number(/^process_resident_memory_bytes\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0));
}

/** How much the worker that grew most grew since `before`. */
async function mostGrown(before: number[]): Promise<number> {
  const after = await workerRss();
  return Math.max(...after.map((rss, i) => rss - before[i]!));
}

describe('request ids', () => {
  it("tie a client's failed request to HAProxy's log line and the worker's, by the X-Request-Id it was answered with", async () => {
    // A query past its own timeout: a 503 of ours, which the worker logs.
    const response = await fetch(
      `${stack.baseUrl}/api/v1/query_range?query=count_over_time(up%5B1h%5D)&start=0&end=1000000&step=100&timeout=1ms`,
    );
    expect(response.status).toBe(503);
    const id = response.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9A-F]{8}:[0-9A-F]{4}_/);
    await eventually(
      async () => logLines('haproxy').some((line) => line.request_id === id),
      10_000,
      'HAProxy to log the request',
    );
    const haproxy = logLines('haproxy').find((line) => line.request_id === id)!;
    expect(haproxy).toMatchObject({
      level: 'info',
      process: 'haproxy',
      status: 503,
      msg: expect.stringContaining('GET /api/v1/query_range'),
    });
    await eventually(
      async () => logLines('worker').some((line) => line.request_id === id),
      10_000,
      'the worker to log the request',
    );
    const worker = logLines('worker').find((line) => line.request_id === id)!;
    expect(worker).toMatchObject({
      level: 'warn',
      process: expect.stringMatching(/^worker \d+$/),
      code: 'deadline_exceeded',
      path: '/api/v1/query_range',
      time: expect.any(String),
      msg: expect.any(String),
    });
  });

  it("keep HAProxy's log one JSON object a line, however long the URI and whatever it holds", async () => {
    const query = `sum(rate(x{a=~"${'"\\é\u0001'.repeat(1_000)}"}[5m]))`; // some 15 kB encoded
    const response = await fetch(`${stack.baseUrl}/api/v1/query?query=${encodeURIComponent(query)}`);
    const id = response.headers.get('x-request-id');
    expect(id).not.toBeNull();
    await eventually(
      async () => readFileSync(join(logs, 'haproxy.log'), 'utf8').includes(id!),
      10_000,
      'HAProxy to log the request',
    );
    // Every line parses (logLines throws on one that does not); the URI is the start of the one sent.
    const line = logLines('haproxy').find((entry) => entry.request_id === id)!;
    expect(line.msg).toMatch(/^GET \/api\/v1\/query\?query=sum\(rate\(x%7Ba%3D~%22%22%5C%C3%A9%01/);
    expect(String(line.msg).length).toBeLessThanOrEqual(1_100);
  });
});

describe('logs', () => {
  it('stay under MEETR_LOG_MAX_MB while a load writes several times as much, and nothing stops', async () => {
    const capMb = 2;
    await meetr(['up'], { ...stack.env, MEETR_LOG_MAX_MB: String(capMb) });
    try {
      let largest = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          largest = Math.max(largest, folderBytes());
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      let requests = 0;
      // HAProxy writes some 300 bytes a request: 24,000 of them are some 7 MB, over three times the cap.
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (requests < 24_000) {
            requests++;
            expect((await fetch(`${stack.baseUrl}/health`)).status).toBe(200);
          }
        }),
      );
      sampling = false;
      await sampler;
      expect(largest).toBeLessThanOrEqual(capMb * 1024 * 1024);
      expect(readdirSync(logs)).toContain('haproxy.log.1');
      // Still writing, into the same files.
      const last = await fetch(`${stack.baseUrl}/health`);
      const id = last.headers.get('x-request-id');
      await eventually(
        async () => logLines('haproxy').some((line) => line.request_id === id),
        10_000,
        'HAProxy to log after rotating',
      );
      const keeper = logLines('logs').filter((line) => String(line.msg).startsWith('rotated'));
      expect(keeper.length).toBeGreaterThan(0);
    } finally {
      await meetr(['up'], stack.env); // back to the default cap, with the variable merely left out
    }
    expect(await meetr(['config'], stack.env)).toMatch(/MEETR_LOG_MAX_MB +\(default\)/);
  }, 240_000);
});

describe('disk', () => {
  it("reports free space of Cassandra's data and commit log on /health and ./meetr status, with the failure policies", async () => {
    const health = (await (await fetch(`http://127.0.0.1:${stack.workerPorts[0]}/health`)).json()) as {
      disk?: {
        data: Array<{ path: string; freeBytes: number }>;
        commitLog: { freeBytes: number };
        diskFailurePolicy: string;
        commitFailurePolicy: string;
      };
    };
    expect(health.disk?.data.length).toBeGreaterThan(0);
    for (const d of health.disk!.data) expect(d.freeBytes).toBeGreaterThan(0);
    expect(health.disk?.commitLog.freeBytes).toBeGreaterThan(0);
    expect(health.disk).toMatchObject({ diskFailurePolicy: 'stop', commitFailurePolicy: 'stop' });
    const status = await meetr(['status'], stack.env);
    expect(status).toMatch(/Cassandra data \S+: [\d.]+ GB free of [\d.]+ GB/);
    expect(status).toMatch(/Cassandra commit log \S+: [\d.]+ GB free/);
    expect(status).toContain('disk_failure_policy stop, commit_failure_policy stop');
  });
});

describe('remote write', () => {
  it('refuses a body of millions of empty series from its count on the wire, fast and without the memory to decode it', async () => {
    // MEETR_MAX_BODY_BYTES here is 4 MiB: 2,097,152 empty TimeSeries, far past MEETR_MAX_BATCH (20,000).
    const body = compressSync(Buffer.alloc(4 * 1024 * 1024, Buffer.from([0x0a, 0x00])));
    const rssBefore = await workerRss();
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      const started = performance.now();
      const response = await fetch(`${stack.baseUrl}/api/v1/write`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
        body,
      });
      times.push(performance.now() - started);
      expect(response.status).toBe(413);
      expect(await response.json()).toMatchObject({
        error: 'payload_too_large',
        message: expect.stringContaining('more than 20000 series'),
      });
    }
    const grown = await mostGrown(rssBefore);
    console.log(
      `4 MiB of empty series refused in ${times.map((t) => t.toFixed(0)).join(', ')} ms; a worker's RSS grew by ${(grown / 1e6).toFixed(1)} MB at most`,
    );
    expect(grown).toBeLessThan(50 * 1024 * 1024);
  });
});

/** A protobuf length-delimited field: its key (field `number`, wire type 2), length and bytes. */
function field(number: number, bytes: Buffer): Buffer {
  const length: number[] = [];
  for (let v = bytes.length; ; v = Math.floor(v / 128)) {
    if (v < 128) {
      length.push(v);
      break;
    }
    length.push((v & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from([(number << 3) | 2, ...length]), bytes]);
}

describe('OTLP', () => {
  it('refuses bodies of millions of empty data points or JSON objects before decoding them, fast and without the memory', async () => {
    // 4 MiB (MEETR_MAX_BODY_BYTES here) as resource_metrics > scope_metrics > metrics > gauge > 2 million empty data points, gzip'd.
    const points = Buffer.alloc(4 * 1024 * 1024 - 64, Buffer.from([0x0a, 0x00]));
    const protobufBody = gzipSync(field(1, field(2, field(2, field(5, points)))));
    const jsonBody = gzipSync(`{"resourceMetrics":[${'{},'.repeat(1_398_000)}{}]}`);
    const rssBefore = await workerRss();
    const times: number[] = [];
    for (const [type, body, said] of [
      ['application/x-protobuf', protobufBody, 'more than 20000 samples'],
      ['application/json', jsonBody, 'JSON objects and arrays'],
    ] as const) {
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const response = await fetch(`${stack.baseUrl}/api/v1/otlp/v1/metrics`, {
          method: 'POST',
          headers: { 'Content-Type': type, 'Content-Encoding': 'gzip' },
          body,
        });
        times.push(performance.now() - started);
        expect(response.status, type).toBe(413);
        expect(await response.json()).toMatchObject({
          error: 'payload_too_large',
          message: expect.stringContaining(said),
        });
      }
    }
    const grown = await mostGrown(rssBefore);
    console.log(
      `4 MiB OTLP bodies refused in ${times.map((t) => t.toFixed(0)).join(', ')} ms; a worker's RSS grew by ${(grown / 1e6).toFixed(1)} MB at most`,
    );
    expect(grown).toBeLessThan(50 * 1024 * 1024);
  });
});
