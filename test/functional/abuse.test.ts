/**
 * The abuse tier: hostile and careless clients through HAProxy, each beside a polite
 * client that inserts and searches one point at a time and must see no failure and
 * no long wait. The stack's limits here: 4 MiB bodies, 20,000-point batches.
 */
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import http from 'node:http';
import net from 'node:net';
import { describe, expect, inject, it } from 'vitest';
import { call, postForm, postJson, search } from '../support/http.js';

const stack = inject('stack');
const runPython = (script: string, url: string): Promise<{ stdout: string }> =>
  promisify(execFile)('python3', ['-c', script, url], { maxBuffer: 1024 * 1024, timeout: 120_000 });
const MAX_BATCH = 20_000;
const MAX_BODY = 4 * 1024 * 1024;
/** The most a polite request may take while abuse goes on beside it (the issue's bound for slow clients). */
const POLITE_LIMIT_MS = 1_500;

interface PoliteLog {
  readonly failures: string[];
  readonly latencies: number[];
}

/** A polite client inserting one point and searching it back, over and over, until `stop` is called. */
function politeClient(name: string): { stop: () => Promise<PoliteLog> } {
  const log: PoliteLog = { failures: [], latencies: [] };
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const ts = Date.UTC(2025, 0, 1) + i;
      let started = performance.now();
      const inserted = await postForm({ metric_id: `polite.${name}`, ts: String(ts), value: '1' }).catch(
        (error: Error) => ({ status: 0, text: error.message }),
      );
      log.latencies.push(performance.now() - started);
      if (inserted.status !== 200) log.failures.push(`insert ${inserted.status} ${inserted.text.slice(0, 200)}`);
      started = performance.now();
      const found = await search({
        metric: `polite.${name}`,
        from: String(ts),
        to: String(ts),
        aggregation: 'count',
      }).catch((error: Error) => ({ status: 0, text: error.message }));
      log.latencies.push(performance.now() - started);
      if (found.status !== 200) log.failures.push(`search ${found.status} ${found.text.slice(0, 200)}`);
      await sleep(50);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return log;
    },
  };
}

function expectUndisturbed(log: PoliteLog): void {
  expect(log.failures).toEqual([]);
  expect(log.latencies.length).toBeGreaterThan(4);
  expect(Math.max(...log.latencies)).toBeLessThan(POLITE_LIMIT_MS);
}

/** A POST the way clients that write the whole body before reading send it (Python's urllib, curl with a file). */
function postRaw(
  body: Buffer | string,
  contentType: string,
): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
  const url = new URL(stack.baseUrl);
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: '/1.0/metrics',
        method: 'POST',
        agent: false,
        headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text, headers: response.headers }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** Milliseconds each worker's own /health takes, probed on its loopback port until `stop`. */
function healthProbe(): { stop: () => Promise<{ worst: number; failures: number }> } {
  let running = true;
  let worst = 0;
  let failures = 0;
  const probe = (port: number): Promise<void> =>
    new Promise((resolve) => {
      const started = performance.now();
      http
        .get({ host: '127.0.0.1', port, path: '/health', agent: false, timeout: 5_000 }, (response) => {
          response.resume();
          response.on('end', () => {
            worst = Math.max(worst, performance.now() - started);
            if (response.statusCode !== 200) failures++;
            resolve();
          });
        })
        .on('error', () => {
          failures++;
          resolve();
        });
    });
  const loop = (async () => {
    while (running) {
      await Promise.all(stack.workerPorts.map(probe));
      await sleep(25);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { worst, failures };
    },
  };
}

const repeat = (unit: string, bytes: number): string => unit.repeat(Math.floor(bytes / unit.length));
const boundary = 'abuseBoundary';

describe('abuse through HAProxy', () => {
  it('refuses hostile bodies from their shape, before parsing, while /health and a polite client carry on', async () => {
    const size = MAX_BODY - 1024;
    const hostile: Array<[string, string, string, number]> = [
      ['millions of empty objects', 'application/json', `[${repeat('{},', size)}{}]`, 413],
      ['millions of numbers', 'application/json', `[${repeat('1,', size)}1]`, 413],
      ['an object of a million keys', 'application/json', `{${repeat('"a":1,', size)}"b":1}`, 413],
      ['nothing but open brackets', 'application/json', repeat('[', size), 400],
      ['one huge metric id', 'application/json', `{"metric_id":"${repeat('x', size)}","ts":1,"value":1}`, 400],
      ['a million form fields', 'application/x-www-form-urlencoded', repeat('a=1&', size), 400],
      [
        'a million multipart parts',
        `multipart/form-data; boundary=${boundary}`,
        repeat(`--${boundary}\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n`, size),
        400,
      ],
    ];
    const polite = politeClient('shapes');
    const health = healthProbe();
    for (const [what, type, body, status] of hostile) {
      const answers = await Promise.all([1, 2, 3].map(() => postRaw(body, type)));
      for (const answer of answers) {
        expect(answer.status, what).toBe(status);
        expect(JSON.parse(answer.text), what).toMatchObject({
          error: expect.any(String),
          details: [expect.objectContaining({ field: expect.any(String) })],
        });
      }
    }
    const { worst, failures } = await health.stop();
    expectUndisturbed(await polite.stop());
    expect(failures).toBe(0);
    expect(worst).toBeLessThan(1_000); // 250 ms on a quiet machine; docs/BENCHMARKS.md has the figures
  });

  it('answers 413 to a client that writes a body over the limit before reading, and a gzip bomb without inflating it', async () => {
    const tooBig = await postRaw(Buffer.alloc(MAX_BODY + 1024 * 1024, 0x20), 'application/json');
    expect(tooBig.status).toBe(413);
    expect(JSON.parse(tooBig.text)).toMatchObject({ error: 'payload_too_large' });

    const { gzipSync } = await import('node:zlib');
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
    const bombed = await call('/1.0/metrics', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
      body: bomb,
    });
    expect(bombed.status).toBe(413);
    expect(bombed.body).toMatchObject({ error: 'payload_too_large', message: expect.stringMatching(/inflated/) });
  });

  it("answers the Meetr contract's 111 MB batch 413 over Python's urllib, which writes the whole body before it reads", async () => {
    const script = [
      'import json, sys, urllib.request, urllib.error',
      'body = b"batch=1&metrics=" + b"%5B" + b"x" * (111 * 1024 * 1024) + b"%5D"',
      'request = urllib.request.Request(sys.argv[1], data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})',
      'try:',
      '    response = urllib.request.urlopen(request, timeout=60)',
      '    print(json.dumps({"status": response.status, "body": response.read().decode()}))',
      'except urllib.error.HTTPError as e:',
      '    print(json.dumps({"status": e.code, "body": e.read().decode()}))',
    ].join('\n');
    const { stdout } = await runPython(script, `${stack.baseUrl}/1.0/metrics`);
    const answer = JSON.parse(stdout) as { status: number; body: string };
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'payload_too_large' });
  });

  it('lets a worker go of a refused body that stops arriving after a few seconds, serving everyone meanwhile', async () => {
    const polite = politeClient('lingering');
    // Straight to a worker: HAProxy holds its side of a silent client until its own client timeout (60 s), at no worker's cost.
    const socket = net.connect(stack.workerPorts[0]!, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `POST /1.0/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${1024 * 1024 * 1024}\r\n\r\n`,
    );
    socket.write(Buffer.alloc(1024 * 1024, 0x20));
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    const started = performance.now();
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.once('error', () => resolve());
    });
    const closedAfter = performance.now() - started;
    expect(received).toMatch(/^HTTP\/1.1 413/);
    // Cut after LINGER_IDLE_MS (5 s) of silence, well before the 30 s lingering time.
    expect(closedAfter).toBeGreaterThan(4_000);
    expect(closedAfter).toBeLessThan(25_000);
    expectUndisturbed(await polite.stop());
  });

  it('takes a maximal batch on an idle service, and of six at once at least one, the rest shed with Retry-After', async () => {
    // MEETR_MAX_BATCH points over 200 metrics (a hundred each, within a minute): a batch as an exporter
    // sends it. Few metrics and minutes, so the roller's work after it does not weigh on the latency
    // bounds of the tests that follow.
    const batch = (client: number) =>
      Array.from({ length: MAX_BATCH }, (_, i) => ({
        metric_id: `abuse.honest.${client}.${i % 200}`,
        ts: Date.UTC(2025, 6, 1) + client * 100_000 + Math.floor(i / 200),
        value: i,
      }));
    const single = await postJson(batch(100));
    expect(single.status).toBe(200);
    expect(single.body).toEqual({ inserted: MAX_BATCH });
    const answers = await Promise.all([0, 1, 2, 3, 4, 5].map((client) => postJson(batch(client))));
    const accepted = answers.filter((answer) => answer.status === 200);
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    for (const answer of answers) {
      if (answer.status === 200) continue;
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe('1');
      expect(answer.body?.error).toBe('overloaded');
    }
  });

  it('sheds what it cannot queue with 503 and Retry-After, loses nothing it acknowledged, and keeps a polite client moving', async () => {
    const polite = politeClient('batches');
    const batch = (client: number) =>
      Array.from({ length: MAX_BATCH }, (_, i) => ({
        metric_id: `abuse.batch.${client}.${i}`,
        ts: Date.UTC(2025, 5, 1) + client,
        value: 1,
      }));
    const answers = await Promise.all([0, 1, 2, 3, 4, 5].map((client) => postJson(batch(client))));
    const log = await polite.stop();
    for (const answer of answers) {
      expect([200, 503]).toContain(answer.status);
      if (answer.status === 503) {
        expect(answer.headers.get('retry-after')).toBe('1');
        // Shed at once, or admitted and still unfinished at the deadline: 20,000 metrics are 40,000 statements.
        expect(['overloaded', 'deadline_exceeded']).toContain(answer.body?.error);
      }
    }
    expect(answers.filter((a) => a.body?.error === 'overloaded').length).toBeGreaterThan(0);
    expectUndisturbed(log);
    // Every acknowledged batch is whole: sample its metrics.
    for (const [client, answer] of answers.entries()) {
      if (answer.status !== 200) continue;
      for (const i of [0, 7_777, MAX_BATCH - 1]) {
        const found = await search({
          metric: `abuse.batch.${client}.${i}`,
          from: '2025-06-01T00:00:00Z',
          to: '2025-06-02T00:00:00Z',
          aggregation: 'count',
        });
        expect(found.body).toMatchObject({ value: 1, count: 1 });
      }
    }
    const shed = await Promise.all(
      stack.telemetryPorts.map(async (port) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text()),
    );
    expect(shed.join('\n')).toMatch(/meetr_requests_shed_total\{[^}]*reason="write_queue_(delay|full)"[^}]*\} [1-9]/);
  });

  it('holds a thousand connections trickling their requests without delaying anyone else', async () => {
    const url = new URL(stack.baseUrl);
    const sockets: net.Socket[] = [];
    let cutOff = 0;
    for (let i = 0; i < 1_000; i++) {
      const socket = net.connect({ host: url.hostname, port: Number(url.port) });
      socket.on('error', () => undefined);
      socket.on('data', () => undefined); // HAProxy's 408
      socket.on('end', () => cutOff++);
      // Half send their headers a byte at a time, half a body a byte at a time.
      socket.write(
        i % 2 === 0
          ? 'POST /1.0/metrics HTTP/1.1\r\nHost: x\r\n'
          : 'POST /1.0/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[',
      );
      sockets.push(socket);
    }
    const trickle = setInterval(() => {
      for (const socket of sockets)
        if (!socket.destroyed && socket.writable) socket.write(socket.bytesWritten % 2 === 0 ? 'X' : ' ');
    }, 2_000);
    const polite = politeClient('slow-neighbours');
    await sleep(12_000); // past HAProxy's 10 s for a request to arrive
    const log = await polite.stop();
    clearInterval(trickle);
    for (const socket of sockets) socket.destroy();
    expectUndisturbed(log);
    expect(cutOff).toBeGreaterThan(900); // cut off at HAProxy's request timeout, not held forever
  });

  it('answers a 10,000-year search over a few thousand days correctly, and refuses one needing too many raw partitions naming the limit', async () => {
    const day = 86_400_000;
    const start = Date.UTC(2010, 0, 1);
    const points = (metric: string, days: number) =>
      Array.from({ length: days }, (_, i) => ({ metric_id: metric, ts: start + i * day + 1_000, value: 2 }));
    expect((await postJson(points('abuse.years', 3_000))).status).toBe(200);
    // 5,001 hours with points, not rolled up yet (searched within the writes' holds): more raw partitions than MEETR_MAX_SEARCH_PARTITIONS (5,000 here).
    expect((await postJson(points('abuse.too-many', 5_001))).status).toBe(200);
    const polite = politeClient('long-search');
    const years = await search({
      metric: 'abuse.years',
      from: '0001-01-01T00:00:00Z',
      to: '9999-12-31T23:59:59Z',
      aggregation: 'sum',
    });
    const tooMany = await search({
      metric: 'abuse.too-many',
      from: '0001-01-01T00:00:00Z',
      to: '9999-12-31T23:59:59Z',
      aggregation: 'sum',
    });
    expectUndisturbed(await polite.stop());
    expect(years.status).toBe(200);
    expect(years.body).toMatchObject({ value: 6_000, count: 3_000 });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toMatchObject({
      error: 'invalid_request',
      message: expect.stringMatching(/MEETR_MAX_SEARCH_PARTITIONS/),
    });
  });

  it('refuses points too far in the future', async () => {
    const answer = await postForm({ metric_id: 'abuse.future', ts: String(Date.now() + 2 * 86_400_000), value: '1' });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({
      details: [expect.objectContaining({ field: 'ts', message: expect.stringMatching(/future/) })],
    });
  });

  it('keeps the newer value when an older request is replayed late', async () => {
    const ts = String(Date.UTC(2024, 2, 3, 4, 5, 6));
    const old = Date.now() * 1000 - 10_000_000; // arrived at HAProxy 10 s ago, stamped so by it
    expect((await postForm({ metric_id: 'abuse.replay', ts, value: '2' })).status).toBe(200); // the correction, acknowledged
    // The earlier request, replayed only now on a worker, as HAProxy forwards it: with its first arrival time.
    const replay = await fetch(`http://127.0.0.1:${stack.workerPorts[0]}/1.0/metrics`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Meetr-Received-Us': String(old) },
      body: new URLSearchParams({ metric_id: 'abuse.replay', ts, value: '1' }).toString(),
    });
    expect(replay.status).toBe(200);
    expect((await search({ metric: 'abuse.replay', from: ts, to: ts, aggregation: 'max' })).body).toMatchObject({
      value: 2,
      count: 1,
    });
  });
  it("answers hostile regular expressions in linear time and refuses a query over the sample limit up front, the worker's /health prompt meanwhile", async () => {
    const now = Date.now();
    const worker = `http://127.0.0.1:${stack.workerPorts[0]}`;
    // 600 series with a sample at the start of an 18-minute range: 600 series x 10,801 steps is over the 5,000,000 samples a query may hold.
    for (let batch = 0; batch < 2; batch++) {
      const points = Array.from({ length: 300 }, (_, i) => ({
        metric_id: `abuse_wide{i="${batch * 300 + i}"}`,
        ts: now - 1_080_000,
        value: i,
      }));
      expect((await postJson(points)).status).toBe(200);
    }
    let healthSlowest = 0;
    let probing = true;
    const probes = (async () => {
      while (probing) {
        const started = performance.now();
        const health = await fetch(`${worker}/health`);
        healthSlowest = Math.max(healthSlowest, performance.now() - started);
        expect(health.status).toBe(200);
        await sleep(20);
      }
    })();
    const timed = async (
      path: string,
    ): Promise<{ status: number; ms: number; body: { errorType?: string; error?: string } }> => {
      const started = performance.now();
      const response = await fetch(`${worker}${path}`);
      return {
        status: response.status,
        body: (await response.json()) as { errorType?: string },
        ms: performance.now() - started,
      };
    };
    const regexes: number[] = [];
    // A regex on __name__ alone reads the whole catalogue: a benign one that matches nothing costs the scan, and a hostile one no more.
    // The benign one has no literal prefix (`zzz.*` would read only the names that start with it), so it scans every name too.
    const benign = await timed(
      `/api/v1/series?${new URLSearchParams({ 'match[]': '{__name__=~".*zzz"}' }).toString()}`,
    );
    expect(benign.status).toBe(200);
    for (const pattern of ['(.|.)*X', '(a|a)*b', '.*.*.*.*.*X', '(x+x+)+y']) {
      const series = await timed(
        `/api/v1/series?${new URLSearchParams({ 'match[]': `{__name__=~"${pattern}"}` }).toString()}`,
      );
      const query = await timed(
        `/api/v1/query?${new URLSearchParams({ query: `abuse_wide{i=~"${pattern}"}` }).toString()}`,
      );
      expect([series.status, query.status], pattern).toEqual([200, 200]);
      regexes.push(series.ms, query.ms);
    }
    const range = { start: String((now - 1_080_000) / 1000), end: String(now / 1000), step: '0.1' };
    const tooLarge = await timed(
      `/api/v1/query_range?${new URLSearchParams({ query: 'abuse_wide', ...range }).toString()}`,
    );
    probing = false;
    await probes;
    console.log(
      `hostile regexes answered in ${regexes.map((ms) => ms.toFixed(0)).join(', ')} ms (series, query; a benign catalogue scan ${benign.ms.toFixed(0)} ms); the query over the limit refused in ${tooLarge.ms.toFixed(0)} ms; slowest /health meanwhile ${healthSlowest.toFixed(0)} ms`,
    );
    expect(tooLarge.status).toBe(422);
    expect(tooLarge.body).toMatchObject({
      errorType: 'execution',
      error: 'query processing would load too many samples into memory in query execution',
    });
    expect(Math.max(...regexes)).toBeLessThan(3 * benign.ms + 1_000); // linear time: what the catalogue scan costs, not exponential
    expect(healthSlowest).toBeLessThan(250);
  });
});
