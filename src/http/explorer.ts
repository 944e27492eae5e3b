/**
 * The explorer page (ui/, built by `./meetr up` into dist-ui/): GET / is its
 * index.html, never cached, and GET /assets/<name-hash.ext> its scripts and styles,
 * cached for a year since a changed file gets a new name. Read once at start, kept
 * gzipped as well; nothing is fetched from elsewhere at run time.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Hono, type Context } from 'hono';
import type { AppEnv } from './app-env.js';
import { errorResponse } from './error-handler.js';
import { EXPLORER_ASSETS_PREFIX } from './routes.js';

interface StaticFile {
  readonly body: Buffer;
  readonly gzipped: Buffer;
  readonly type: string;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
};

/** The built page in `dir` (index.html and assets/), or nothing when it is not built. */
export function loadExplorer(dir: string): ReadonlyMap<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const add = (path: string, file: string): void => {
    const extension = file.slice(file.lastIndexOf('.'));
    const type = TYPES[extension];
    if (type === undefined) return;
    const body = readFileSync(file);
    files.set(path, { body, gzipped: gzipSync(body, { level: 9 }), type });
  };
  if (!existsSync(join(dir, 'index.html'))) return files;
  add('/', join(dir, 'index.html'));
  const assets = join(dir, 'assets');
  if (existsSync(assets))
    for (const name of readdirSync(assets)) add(`${EXPLORER_ASSETS_PREFIX}${name}`, join(assets, name));
  return files;
}

/** GET / and GET /assets/*: the page, or 404 naming how to build it. */
export function createExplorer(files: ReadonlyMap<string, StaticFile>): Hono<AppEnv> {
  const app = new Hono<AppEnv>({ strict: false });
  const serve = (c: Context<AppEnv>, path: string, cache: string): Response => {
    const file = files.get(path);
    if (file === undefined)
      return errorResponse(
        c,
        'not_found',
        path === '/'
          ? 'the explorer page is not built: ./meetr up builds it into dist-ui/'
          : `no such endpoint: ${c.req.method} ${c.req.path}`,
      );
    const gzip = acceptsGzip(c.req.header('accept-encoding') ?? '');
    const headers: Record<string, string> = {
      'Content-Type': file.type,
      'Cache-Control': cache,
      'X-Content-Type-Options': 'nosniff',
      Vary: 'Accept-Encoding',
    };
    if (gzip) headers['Content-Encoding'] = 'gzip';
    if (path === '/') headers['Content-Security-Policy'] = CONTENT_SECURITY_POLICY;
    if (c.req.method === 'HEAD') return c.body(null, 200, headers);
    return c.body(new Uint8Array(gzip ? file.gzipped : file.body), 200, headers);
  };
  app.get('/', (c) => serve(c, '/', 'no-cache'));
  app.get(`${EXPLORER_ASSETS_PREFIX}:name`, (c) =>
    serve(c, `${EXPLORER_ASSETS_PREFIX}${c.req.param('name')}`, 'public, max-age=31536000, immutable'),
  );
  return app;
}

/** Whether an Accept-Encoding takes gzip: named (or `*`) and not with q=0. */
function acceptsGzip(header: string): boolean {
  const choices = header.split(',').map((part) => {
    const [coding = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    return { coding: coding.trim(), accepted: q === undefined || Number(q) > 0 };
  });
  const choice = choices.find((c) => c.coding === 'gzip') ?? choices.find((c) => c.coding === '*');
  return choice?.accepted ?? false;
}

/** The page loads only its own files and talks only to this origin. */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";
