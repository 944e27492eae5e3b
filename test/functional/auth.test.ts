/**
 * Tokens through the real stack, over HTTP and HTTPS: `./meetr up` turns them on with
 * a token file made by `./meetr token create` and a self-signed certificate, every
 * route is tried with every kind of caller, a failing address is slowed by HAProxy,
 * and a token file change under load fails no request. Tokens are turned off again
 * at the end (the other files run without them).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/devstack/local-nodes.js';

const run = promisify(execFile);
const stack = inject('stack');
const dir = join(stack.env.MEETR_RUN_DIR!, 'auth');
const tokenFile = join(dir, 'tokens.json');
const certFile = join(dir, 'tls.pem');
const httpPort = Number(stack.env.MEETR_HTTP_PORT);
const httpsPort = httpPort + 2;
const authEnv = {
  ...stack.env,
  MEETR_AUTH_TOKENS_FILE: tokenFile,
  MEETR_TLS_CERT: certFile,
  MEETR_HTTPS_PORT: String(httpsPort),
  MEETR_AUTH_FAILURES_PER_MINUTE: '20',
};
const tokens: Record<string, string> = {};

async function meetr(args: string[], env: Record<string, string>): Promise<string> {
  return (await run(join(PROJECT_ROOT, 'meetr'), args, { env, cwd: PROJECT_ROOT, maxBuffer: 64 * 1024 * 1024 })).stdout;
}

/** `./meetr token create`: its last line of output is the token alone. */
async function createToken(name: string, scope: string): Promise<string> {
  const lines = (await meetr(['token', 'create', '--name', name, '--scope', scope], authEnv)).trim().split('\n');
  return lines[lines.length - 1]!;
}

interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** One request to HAProxy over HTTP or HTTPS (trusting the test certificate), from a chosen local address. */
function send(
  scheme: 'http' | 'https',
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
  localAddress = '127.0.0.1',
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const options = {
      host: '127.0.0.1',
      port: scheme === 'http' ? httpPort : httpsPort,
      method,
      path,
      headers,
      localAddress,
      agent: false as const,
      servername: 'localhost',
    };
    const onResponse = (response: http.IncomingMessage): void => {
      let text = '';
      response
        .setEncoding('utf8')
        .on('data', (chunk: string) => (text += chunk))
        .on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
    };
    const request =
      scheme === 'http'
        ? http.request(options, onResponse)
        : https.request({ ...options, ca: readFileSync(certFile) }, onResponse);
    request.on('error', reject).setTimeout(20_000, () => request.destroy(new Error('timed out')));
    request.end(body);
  });
}

const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });
const basic = (token: string): Record<string, string> => ({
  Authorization: `Basic ${Buffer.from(`grafana:${token}`).toString('base64')}`,
});
const form = { 'Content-Type': 'application/x-www-form-urlencoded' };

beforeAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-days',
    '2',
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    join(dir, 'cert.pem'),
  ]);
  await run('sh', ['-c', `cat "${join(dir, 'cert.pem')}" "${join(dir, 'key.pem')}" > "${certFile}"`]);
  for (const scope of ['read', 'write', 'admin']) tokens[scope] = await createToken(`${scope}-client`, scope);
  await meetr(['up'], authEnv);
}, 180_000);

afterAll(async () => {
  await meetr(['up'], stack.env); // without the variables: tokens and TLS off again
}, 180_000);

describe.each(['http', 'https'] as const)('tokens over %s, through HAProxy', (scheme) => {
  const routes = {
    search: ['GET', '/1.0/metrics?metric=auth.m&from=0&to=1800000000&aggregation=count'],
    insert: ['POST', '/1.0/metrics'],
    unknown: ['GET', '/2.0/metrics'],
    health: ['GET', '/health'],
  } as const;
  const expected: Record<string, Record<keyof typeof routes, number>> = {
    'no token': { search: 401, insert: 401, unknown: 401, health: 200 },
    'a wrong token': { search: 401, insert: 401, unknown: 401, health: 200 },
    'a read token': { search: 200, insert: 403, unknown: 404, health: 200 },
    'a write token (Basic)': { search: 403, insert: 200, unknown: 404, health: 200 },
    'an admin token': { search: 200, insert: 200, unknown: 404, health: 200 },
  };
  const credentials = (caller: string): Record<string, string> =>
    ({
      'no token': {},
      'a wrong token': bearer('meetr_not-a-real-token'),
      'a read token': bearer(tokens.read!),
      'a write token (Basic)': basic(tokens.write!),
      'an admin token': bearer(tokens.admin!),
    })[caller]!;

  it.each(Object.keys(expected))('answers %s as its scope allows', async (caller) => {
    const got: Record<string, number> = {};
    for (const [route, [method, path]] of Object.entries(routes)) {
      const reply = await send(
        scheme,
        method,
        path,
        { ...credentials(caller), ...(method === 'POST' ? form : {}) },
        method === 'POST' ? 'metric_id=auth.m&ts=1700000000&value=1' : undefined,
      );
      got[route] = reply.status;
      if (reply.status === 401) {
        expect(reply.headers['www-authenticate']).toContain('Basic realm="meetr"');
        expect(JSON.parse(reply.body)).toMatchObject({ error: 'unauthorized' });
      }
      if (reply.status === 403) expect(JSON.parse(reply.body)).toMatchObject({ error: 'forbidden' });
    }
    expect(got).toEqual(expected[caller]);
  });
});

describe('an address that keeps failing', () => {
  it('gets 429 with Retry-After from HAProxy, while other addresses go on', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++)
      statuses.push(
        (
          await send(
            'http',
            'GET',
            '/1.0/metrics?metric=m&from=0&to=1&aggregation=sum',
            bearer(`meetr_guess-${i}`),
            undefined,
            '127.0.0.2',
          )
        ).status,
      );
    expect(statuses.slice(0, 20).every((status) => status === 401)).toBe(true);
    expect(statuses.slice(21)).toEqual([429, 429, 429, 429]);
    const limited = await send(
      'http',
      'GET',
      '/1.0/metrics?metric=m&from=0&to=1&aggregation=sum',
      bearer(tokens.read!),
      undefined,
      '127.0.0.2',
    );
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('60');
    expect(JSON.parse(limited.body)).toMatchObject({ error: 'too_many_requests' });
    expect(
      (await send('http', 'GET', '/1.0/metrics?metric=m&from=0&to=1&aggregation=sum', bearer(tokens.read!))).status,
    ).toBe(200);
  });
});

describe('a token file change under load', () => {
  it('takes effect within seconds and fails no request', async () => {
    let stopped = false;
    const failures: string[] = [];
    let done = 0;
    const loops = Array.from({ length: 4 }, async (_, client) => {
      for (let seq = 0; !stopped; seq++) {
        const reply =
          client % 2 === 0
            ? await send(
                'http',
                'POST',
                '/1.0/metrics',
                { ...bearer(tokens.write!), ...form },
                `metric_id=auth.load.${client}&ts=${1_700_000_000 + seq}&value=1`,
              )
            : await send(
                'https',
                'GET',
                `/1.0/metrics?metric=auth.load.${client - 1}&from=1700000000&to=1800000000&aggregation=count`,
                basic(tokens.read!),
              );
        if (reply.status !== 200) failures.push(`${reply.status} ${reply.body}`);
        done++;
      }
    });
    try {
      await sleep(300);
      const added = await createToken('added-under-load', 'read');
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        status = (await send('http', 'GET', '/1.0/metrics?metric=m&from=0&to=1&aggregation=sum', bearer(added))).status;
        if (status !== 200) await sleep(100);
      }
      expect(status).toBe(200);
      await meetr(['token', 'revoke', '--name', 'added-under-load'], authEnv);
      for (let i = 0; i < 50 && status !== 401; i++) {
        status = (await send('http', 'GET', '/1.0/metrics?metric=m&from=0&to=1&aggregation=sum', bearer(added))).status;
        if (status !== 401) await sleep(100);
      }
      expect(status).toBe(401);
    } finally {
      stopped = true;
      await Promise.all(loops);
    }
    expect(failures).toEqual([]);
    expect(done).toBeGreaterThan(20);
  });

  it('never writes a token to a log', () => {
    const logs = join(stack.env.MEETR_RUN_DIR!, 'logs');
    // Every log of the stack (pm2 names its files by process id), and the copies the log keeper made.
    const text = readdirSync(logs)
      .filter((name) => /\.log(\.1)?$/.test(name))
      .map((name) => readFileSync(join(logs, name), 'utf8'))
      .join('\n');
    expect(text).toContain('tokens on'); // the workers did log, and about tokens
    for (const token of Object.values(tokens)) expect(text).not.toContain(token);
  });
});

describe('the command line is the configuration', () => {
  it('turns tokens off when ./meetr up runs without the variable, on with it, off again: no empty assignment needed', async () => {
    expect(stack.env.MEETR_AUTH_TOKENS_FILE).toBeUndefined();
    const tokenless = async (): Promise<number> =>
      (await fetch(`${stack.baseUrl}/1.0/metrics?metric=auth.m&from=0&to=1&aggregation=count`)).status;
    await meetr(['up'], stack.env);
    expect(await tokenless()).toBe(200);
    expect(await meetr(['config'], stack.env)).toMatch(/MEETR_AUTH_TOKENS_FILE +\(default\)/);
    await meetr(['up'], authEnv);
    expect(await tokenless()).toBe(401);
    expect(await meetr(['config'], authEnv)).toContain(tokenFile);
    await meetr(['up'], stack.env);
    expect(await tokenless()).toBe(200);
  }, 240_000);
});
