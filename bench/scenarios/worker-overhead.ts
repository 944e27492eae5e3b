/**
 * What a worker does per request beyond the write, with no Cassandra at all: the
 * composed app over the in-memory store served by @hono/node-server, against a
 * bare node:http server that reads the body and answers the same JSON, both in
 * this process under the same closed-loop client. The difference is meetr's own
 * cost per request (Hono, body reading, decoding, validation, the ingest service,
 * telemetry). The parts are also timed one by one in tight loops.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { composeApp } from '../../src/compose.js';
import { loadConfig } from '../../src/config.js';
import { decodePointInputs } from '../../src/http/point-input.js';
import { parseSearchParams } from '../../src/http/search-params.js';
import { validatePoints } from '../../src/http/validate-points.js';
import { InMemoryPointStore } from '../../src/storage/memory/in-memory-point-store.js';
import { asError, Failures } from '../failures.js';
import { postMetrics } from '../http-client.js';
import { ownCpuSeconds } from '../process-cpu.js';

export interface OverheadResult {
  readonly requests: number;
  /** CPU (server and client together, this process) per single-point POST. */
  readonly bareUs: number;
  readonly meetrUs: number;
  /** meetrUs - bareUs: what meetr adds per request on top of Node's HTTP. */
  readonly addedUs: number;
  /** Tight-loop cost of each part, per call. */
  readonly partsUs: { readonly decodeAndValidate: number; readonly searchParams: number; readonly telemetry: number };
  readonly errors: number;
}

const BODY = 'metric_id=bench.overhead&ts=1700000000123&value=42.5';

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** CPU per request of `requests` single-point POSTs from `clients` concurrent clients. */
async function cpuPerRequest(url: string, requests: number, clients: number, failures: Failures): Promise<number> {
  let next = 0;
  const started = ownCpuSeconds();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next++ < requests) failures.check(await postMetrics(url, BODY).catch(asError));
    }),
  );
  return ((ownCpuSeconds() - started) / requests) * 1e6;
}

function perCallUs(times: number, work: () => unknown): number {
  const started = performance.now();
  for (let i = 0; i < times; i++) work();
  return ((performance.now() - started) / times) * 1000;
}

export async function benchWorkerOverhead(requests: number, clients: number): Promise<OverheadResult> {
  const failures = new Failures();
  const bare = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.stringify({ inserted: Buffer.concat(chunks).length > 0 ? 1 : 0 });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  const config = loadConfig({});
  const app = composeApp({ config, storage: new InMemoryPointStore().asStorage(), workerId: 'overhead' });
  const meetr = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as http.Server;
  try {
    const bareUrl = await listen(bare);
    await new Promise<void>((resolve) => (meetr.listening ? resolve() : meetr.once('listening', () => resolve())));
    const meetrUrl = `http://127.0.0.1:${(meetr.address() as AddressInfo).port}`;
    const warmup = Math.min(2_000, requests);
    await cpuPerRequest(bareUrl, warmup, clients, failures);
    await cpuPerRequest(meetrUrl, warmup, clients, failures);
    // Alternating halves, so noise from the rest of the machine falls on both alike.
    const half = Math.ceil(requests / 2);
    const bareUs =
      ((await cpuPerRequest(bareUrl, half, clients, failures)) +
        (await cpuPerRequest(bareUrl, half, clients, failures))) /
      2;
    const meetrA = await cpuPerRequest(meetrUrl, half, clients, failures);
    const meetrB = await cpuPerRequest(meetrUrl, half, clients, failures);
    const meetrUs = (meetrA + meetrB) / 2;

    const telemetry = app.telemetry;
    const loops = 20_000;
    const form = Buffer.from(BODY);
    const noQuery = (): undefined => undefined;
    const decodeStarted = performance.now();
    for (let i = 0; i < loops; i++)
      validatePoints(await decodePointInputs(form, 'application/x-www-form-urlencoded', noQuery, 1), 'UTC');
    const decodeAndValidate = ((performance.now() - decodeStarted) / loops) * 1000;
    const search = new URLSearchParams({
      metric: 'cpu',
      from: '2024-05-01 00:00:00',
      to: '2024-05-02 00:00:00',
      aggregation: 'avg',
    });
    return {
      requests: 2 * half,
      bareUs,
      meetrUs,
      addedUs: meetrUs - bareUs,
      partsUs: {
        decodeAndValidate,
        searchParams: perCallUs(loops, () =>
          parseSearchParams((name) => search.get(name) ?? undefined, 'Europe/Berlin'),
        ),
        telemetry: perCallUs(loops, () => telemetry.observeRequest('/1.0/metrics', 'POST', 200, 0.001)),
      },
      errors: failures.count,
    };
  } finally {
    bare.close();
    meetr.close();
  }
}
