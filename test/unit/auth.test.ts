/** Tokens: the file, the credentials a request carries, and every route against every kind of caller. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  formatTokenFile,
  generateToken,
  hashToken,
  parseTokenFile,
  TokenRegistry,
  type Scope,
} from '../../src/auth/tokens.js';
import { composeApp } from '../../src/compose.js';
import { loadConfig } from '../../src/config.js';
import { tokenOf } from '../../src/http/auth.js';
import { InMemoryPointStore } from '../../src/storage/memory/in-memory-point-store.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A token file holding one token per scope; the tokens themselves, to send. */
function tokenFile(): { path: string; tokens: Record<Scope, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'meetr-tokens-'));
  dirs.push(dir);
  const tokens = { read: generateToken(), write: generateToken(), admin: generateToken() };
  const path = join(dir, 'tokens.json');
  writeFileSync(
    path,
    formatTokenFile(
      Object.entries(tokens).map(([scope, token]) => ({
        name: `${scope}-client`,
        scope: scope as Scope,
        sha256: hashToken(token),
        created: '',
      })),
    ),
  );
  return { path, tokens };
}

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('credentials', () => {
  it('come as a Bearer token or as HTTP Basic with the token as the password (or as the user, with no password)', () => {
    expect(tokenOf('Bearer abc')).toBe('abc');
    expect(tokenOf('bearer  abc ')).toBe('abc');
    expect(tokenOf(basic('prometheus', 'abc'))).toBe('abc');
    expect(tokenOf(basic('abc', ''))).toBe('abc');
    for (const bad of [
      undefined,
      '',
      'Bearer',
      'Token abc',
      'Bearer a b',
      basic('', ''),
      `Basic ${Buffer.from('no-colon').toString('base64')}`,
    ])
      expect(tokenOf(bad), String(bad)).toBeUndefined();
  });

  it('are checked against hashes only; the file names what is wrong without showing a hash', () => {
    const token = generateToken();
    expect(token).toMatch(/^meetr_[A-Za-z0-9_-]{43}$/);
    expect(
      parseTokenFile(formatTokenFile([{ name: 'a', scope: 'read', sha256: hashToken(token), created: 'x' }])),
    ).toEqual([{ name: 'a', scope: 'read', sha256: hashToken(token), created: 'x' }]);
    expect(parseTokenFile('')).toEqual([]);
    expect(() => parseTokenFile('{')).toThrow('is not JSON');
    expect(() => parseTokenFile('{"tokens":[{"name":"a","scope":"root","sha256":"00"}]}')).toThrow('scope "root"');
    expect(() =>
      parseTokenFile(
        `{"tokens":[{"name":"a","scope":"read","sha256":"${'0'.repeat(64)}"},{"name":"a","scope":"read","sha256":"${'1'.repeat(64)}"}]}`,
      ),
    ).toThrow('appears twice');
  });
});

describe('the token registry', () => {
  it('knows each token by its holder, and nothing else', () => {
    const { path, tokens } = tokenFile();
    const registry = new TokenRegistry(path, () => undefined);
    registry.load();
    expect(registry.authenticate(tokens.write)).toEqual({ name: 'write-client', scope: 'write' });
    expect(registry.authenticate(`${tokens.write}x`)).toBeUndefined();
    expect(registry.authenticate(hashToken(tokens.write))).toBeUndefined();
  });

  it('reads the file again when it changes, and keeps the tokens in force when the change does not parse', async () => {
    const { path, tokens } = tokenFile();
    const logged: string[] = [];
    const registry = new TokenRegistry(path, (message) => logged.push(message));
    registry.start();
    try {
      const added = generateToken();
      writeFileSync(path, formatTokenFile([{ name: 'only', scope: 'admin', sha256: hashToken(added), created: '' }]));
      for (let i = 0; i < 40 && registry.authenticate(added) === undefined; i++) await sleep(100);
      expect(registry.authenticate(added)).toEqual({ name: 'only', scope: 'admin' });
      expect(registry.authenticate(tokens.read)).toBeUndefined(); // gone with the old file
      writeFileSync(path, '{"tokens": [');
      for (let i = 0; i < 40 && !logged.some((line) => line.includes('was not taken')); i++) await sleep(100);
      expect(registry.authenticate(added)).toEqual({ name: 'only', scope: 'admin' });
      expect(logged.join('\n')).not.toContain(hashToken(added));
    } finally {
      registry.stop();
    }
  });

  it('takes a missing file as no tokens at all', () => {
    const logged: string[] = [];
    const registry = new TokenRegistry(join(tmpdir(), 'meetr-no-such-tokens.json'), (message) => logged.push(message));
    registry.load();
    expect(registry.size).toBe(0);
    expect(logged[0]).toContain('every API request is refused');
  });
});

describe('every route, with tokens on', () => {
  const { path, tokens } = tokenFile();
  const registry = new TokenRegistry(path, () => undefined);
  registry.load();
  const app = composeApp({
    config: loadConfig({}),
    storage: new InMemoryPointStore().asStorage(),
    workerId: 'unit',
    auth: registry,
  });
  const routes = {
    search: ['GET', '/1.0/metrics?metric=m&from=0&to=1&aggregation=sum'],
    head: ['HEAD', '/1.0/metrics?metric=m&from=0&to=1&aggregation=sum'],
    insert: ['POST', '/1.0/metrics'],
    remote_write: ['POST', '/api/v1/write'], // past the token, a form body is the wrong encoding: 415
    otlp: ['POST', '/api/v1/otlp/v1/metrics'], // likewise
    prom_query: ['POST', '/api/v1/query?query=1'], // Grafana's default: a form POST that only reads
    prom_labels: ['GET', '/api/v1/labels'],
    catalogue: ['GET', '/1.0/series'],
    other_method: ['DELETE', '/1.0/metrics'],
    unknown: ['GET', '/nowhere'],
    health: ['GET', '/health'],
  } as const;
  /** The status each caller gets on each route. */
  const expected: Record<string, Record<keyof typeof routes, number>> = {
    none: {
      search: 401,
      head: 401,
      insert: 401,
      remote_write: 401,
      otlp: 401,
      prom_query: 401,
      prom_labels: 401,
      catalogue: 401,
      other_method: 401,
      unknown: 401,
      health: 200,
    },
    wrong: {
      search: 401,
      head: 401,
      insert: 401,
      remote_write: 401,
      otlp: 401,
      prom_query: 401,
      prom_labels: 401,
      catalogue: 401,
      other_method: 401,
      unknown: 401,
      health: 200,
    },
    read: {
      search: 200,
      head: 200,
      insert: 403,
      remote_write: 403,
      otlp: 403,
      prom_query: 200,
      prom_labels: 200,
      catalogue: 200,
      other_method: 405,
      unknown: 404,
      health: 200,
    },
    write: {
      search: 403,
      head: 403,
      insert: 200,
      remote_write: 415,
      otlp: 415,
      prom_query: 403,
      prom_labels: 403,
      catalogue: 403,
      other_method: 405,
      unknown: 404,
      health: 200,
    },
    admin: {
      search: 200,
      head: 200,
      insert: 200,
      remote_write: 415,
      otlp: 415,
      prom_query: 200,
      prom_labels: 200,
      catalogue: 200,
      other_method: 405,
      unknown: 404,
      health: 200,
    },
  };
  const credentials: Record<string, Record<string, string>> = {
    none: {},
    wrong: { Authorization: `Bearer ${generateToken()}` },
    read: { Authorization: `Bearer ${tokens.read}` },
    write: { Authorization: basic('prometheus', tokens.write) },
    admin: { Authorization: `Bearer ${tokens.admin}` },
  };

  for (const [caller, statuses] of Object.entries(expected)) {
    it(`answers a caller with ${caller === 'none' ? 'no token' : `a ${caller} token`} as its scope allows`, async () => {
      const got: Record<string, number> = {};
      for (const [route, [method, url]] of Object.entries(routes)) {
        const headers = {
          ...credentials[caller],
          ...(method === 'POST' ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}),
        };
        const response = await app.request(url, {
          method,
          headers,
          ...(method === 'POST' ? { body: 'metric_id=m&ts=1&value=1' } : {}),
        });
        got[route] = response.status;
        if (response.status === 401) {
          expect(response.headers.get('www-authenticate')).toContain('Bearer realm="meetr"');
          // The Prometheus API answers in its own envelope.
          if (method !== 'HEAD')
            expect(await response.json()).toMatchObject(
              url.startsWith('/api/v1/query') || url.startsWith('/api/v1/labels')
                ? { status: 'error', error: expect.stringContaining('token') }
                : { error: 'unauthorized' },
            );
        }
        if (response.status === 403 && method !== 'HEAD')
          expect(JSON.stringify(await response.json())).toContain(`${caller}-client`);
      }
      expect(got).toEqual(statuses);
    });
  }

  it('counts refusals by reason in /metrics', async () => {
    await app.request(routes.search[1]);
    await app.request(routes.search[1], { headers: credentials.wrong });
    await app.request(routes.search[1], { headers: credentials.write });
    const text = await app.telemetry.registry.metrics();
    expect(text).toMatch(/meetr_auth_failures_total\{reason="missing"[^}]*\} [1-9]/);
    expect(text).toMatch(/meetr_auth_failures_total\{reason="invalid"[^}]*\} [1-9]/);
    expect(text).toMatch(/meetr_auth_failures_total\{reason="forbidden"[^}]*\} [1-9]/);
  });

  it('is off by default: no token needed', async () => {
    const open = composeApp({
      config: loadConfig({}),
      storage: new InMemoryPointStore().asStorage(),
      workerId: 'unit',
    });
    expect((await open.request('/1.0/metrics?metric=m&from=0&to=1&aggregation=sum')).status).toBe(200);
  });
});
