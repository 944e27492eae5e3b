/**
 * The explorer page's serving (index never cached, hashed assets cached for a year,
 * gzip when asked, open with tokens on) and the status it reads from the stack
 * (HAProxy's stats CSV, the rollers' /health, the workers' telemetry), over the
 * in-memory store and loopback servers started here.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { formatTokenFile, generateToken, hashToken, TokenRegistry } from '../../src/auth/tokens.js';
import { composeApp } from '../../src/compose.js';
import { loadConfig } from '../../src/config.js';
import { loadExplorer } from '../../src/http/explorer.js';
import { createStackStatus, pointsWrittenOf, workersOf } from '../../src/http/stack-status.js';
import { InMemoryPointStore } from '../../src/storage/memory/in-memory-point-store.js';

const dir = mkdtempSync(join(tmpdir(), 'meetr-explorer-'));
const servers: Server[] = [];
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

const SCRIPT = 'console.log("explorer");'.repeat(200);
const built = join(dir, 'dist-ui');
mkdirSync(join(built, 'assets'), { recursive: true });
writeFileSync(join(built, 'index.html'), '<!doctype html><script src="/assets/main-ABC123.js"></script>');
writeFileSync(join(built, 'assets', 'main-ABC123.js'), SCRIPT);
writeFileSync(join(built, 'assets', 'notes.txt'), 'not a type the page serves');

function appWith(options: { tokens?: TokenRegistry; explorerDir?: string } = {}) {
  return composeApp({
    config: loadConfig({}),
    storage: new InMemoryPointStore().asStorage(),
    workerId: 'unit',
    explorer: loadExplorer(options.explorerDir ?? built),
    stackStatus: async () => ({ worker: 'unit' }),
    ...(options.tokens === undefined ? {} : { auth: options.tokens }),
  });
}

describe('the explorer page', () => {
  const app = appWith();

  it('serves its index never cached, under a policy that loads nothing from elsewhere', async () => {
    const response = await app.request('/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await response.text()).toContain('/assets/main-ABC123.js');
  });

  it('serves a hashed asset cached for a year, gzipped only when the client takes gzip', async () => {
    const plain = await app.request('/assets/main-ABC123.js');
    expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(plain.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(await plain.text()).toBe(SCRIPT);
    const gzipped = await app.request('/assets/main-ABC123.js', { headers: { 'Accept-Encoding': 'br, gzip' } });
    expect(gzipped.headers.get('content-encoding')).toBe('gzip');
    const bytes = Buffer.from(await gzipped.arrayBuffer());
    expect(bytes.length).toBeLessThan(SCRIPT.length / 10);
    expect(gunzipSync(bytes).toString()).toBe(SCRIPT);
    const refused = await app.request('/assets/main-ABC123.js', { headers: { 'Accept-Encoding': 'gzip;q=0' } });
    expect(refused.headers.get('content-encoding')).toBeNull();
    const head = await app.request('/assets/main-ABC123.js', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('answers 404 in JSON for a file it does not hold, a type it does not serve, and a path outside assets', async () => {
    for (const path of ['/assets/main-OTHER.js', '/assets/notes.txt', '/assets/..%2Findex.html', '/index.html']) {
      const response = await app.request(path);
      expect(response.status, path).toBe(404);
      expect(await response.json(), path).toMatchObject({ error: 'not_found' });
    }
  });

  it('says how to build it when it is not built', async () => {
    const response = await appWith({ explorerDir: join(dir, 'nothing') }).request('/');
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ message: expect.stringContaining('./meetr up') });
  });

  it('with tokens on, serves the page and its files to anyone and the status to a reader only', async () => {
    const tokens = { read: generateToken(), write: generateToken() };
    const file = join(dir, 'tokens.json');
    writeFileSync(
      file,
      formatTokenFile(
        Object.entries(tokens).map(([scope, token]) => ({
          name: scope,
          scope: scope as 'read' | 'write',
          sha256: hashToken(token),
          created: '',
        })),
      ),
    );
    const registry = new TokenRegistry(file, () => undefined);
    registry.load();
    const guarded = appWith({ tokens: registry });
    expect((await guarded.request('/')).status).toBe(200);
    expect((await guarded.request('/assets/main-ABC123.js')).status).toBe(200);
    const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });
    expect((await guarded.request('/1.0/status')).status).toBe(401);
    expect((await guarded.request('/1.0/status', bearer(tokens.write))).status).toBe(403);
    const status = await guarded.request('/1.0/status', bearer(tokens.read));
    expect(status.status).toBe(200);
    expect(await status.json()).toEqual({ worker: 'unit' });
    // Anything else still needs a token, even under the page's prefix with another method.
    expect((await guarded.request('/assets/main-ABC123.js', { method: 'POST' })).status).toBe(401);
  });
});

describe('the stack status', () => {
  // A real answer of HAProxy 2.6 (haproxy/haproxy.cfg), its second worker edited to be down.
  const csv = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'haproxy-stats.csv'), 'utf8');

  it("reads the workers from HAProxy's stats CSV, leaving out the frontend and backend rows", () => {
    expect(workersOf(csv)).toEqual([
      expect.objectContaining({ name: 'w1', status: 'UP', check: 'L7OK', totalSessions: 11, sinceChangeSeconds: 552 }),
      expect.objectContaining({
        name: 'w2',
        status: 'DOWN',
        check: 'L4CON',
        totalSessions: 10,
        sinceChangeSeconds: 17,
      }),
    ]);
    expect(() => workersOf('<html>not a CSV</html>')).toThrow(/no CSV header/);
  });

  it("sums a worker's points-written counter over its lines, and ignores other series", () => {
    const text = [
      '# HELP meetr_points_written_total Points acknowledged by Cassandra',
      '# TYPE meetr_points_written_total counter',
      'meetr_points_written_total{worker="9001",source="meetr"} 360',
      'meetr_points_written_total{worker="9001",source="remote_write"} 1.5e3',
      'meetr_points_written_total_created 1796357436',
      'meetr_points_refused_total 7',
    ].join('\n');
    expect(pointsWrittenOf(text)).toBe(1860);
    expect(pointsWrittenOf('')).toBe(0);
  });

  /** A loopback server answering `routes` (path → status and body), and its port. */
  async function serve(routes: Record<string, [number, string]>): Promise<number> {
    const server = createServer((request, response) => {
      const [status, body] = routes[request.url ?? ''] ?? [404, 'no'];
      response.writeHead(status).end(body);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  it('gathers every source, and reports one that does not answer as such rather than failing', async () => {
    const stats = await serve({ '/stats;csv': [200, csv] });
    const roller = await serve({ '/health': [503, JSON.stringify({ status: 'lagging', shardLags: { '0': 42 } })] });
    const telemetry = await serve({ '/metrics': [200, 'meetr_points_written_total{worker="1"} 5\n'] });
    const read = createStackStatus({
      workerId: '9001',
      statsPort: stats,
      workers: 2, // the second worker's telemetry port (telemetry + 1) has nothing listening
      telemetryPort: telemetry,
      rollerPort: roller,
      rollers: 1,
      cassandraReady: () => true,
      timeoutMs: 500,
    });
    const status = await read();
    expect(status.worker).toBe('9001');
    expect(status.workers).toMatchObject({ ok: true, value: [{ name: 'w1' }, { name: 'w2' }] });
    expect(status.rollers).toEqual([{ ok: true, value: { port: roller, status: 'lagging', shardLags: { '0': 42 } } }]);
    expect(status.cassandra).toEqual({ reachable: true });
    expect(status.pointsWritten).toEqual({ total: 5, workersAnswering: 1, workers: 2 });
    expect(await read()).toBe(status); // asked again within the second: the same reading, nothing read again

    const nothing = await createStackStatus({
      workerId: '9001',
      statsPort: roller, // answers 404 on /stats;csv
      workers: 1,
      telemetryPort: stats, // no /metrics there
      rollerPort: telemetry,
      rollers: 1,
      cassandraReady: () => false,
      timeoutMs: 500,
    })();
    expect(nothing.workers).toMatchObject({ ok: false, error: expect.stringContaining('404') });
    expect(nothing.rollers[0]).toMatchObject({ ok: false });
    expect(nothing.pointsWritten).toEqual({ total: 0, workersAnswering: 0, workers: 1 });
    expect(nothing.cassandra.reachable).toBe(false);
  });
});
