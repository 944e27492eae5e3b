/**
 * The explorer page in a real browser: Debian's Chromium driven by playwright-core,
 * through HAProxy on the functional stack, over points written here. It types a
 * query (with completion from meetr's own API), checks what the chart holds against
 * the same query asked of the API, switches to the table, runs a Meetr search,
 * follows a shared URL, shows a wrong query's error, browses the series, reads the
 * status, and with tokens on asks for one and then works. Screenshots go to
 * .local/explorer/, and the figures it measures (script size, first paint, draw time)
 * to .local/explorer/figures.json (docs/BENCHMARKS.md).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/devstack/local-nodes.js';
import { eventually } from '../support/eventually.js';

const run = promisify(execFile);
const stack = inject('stack');
const shots = join(PROJECT_ROOT, '.local', 'explorer');
const figures: Record<string, number> = {};
/** A whole minute, so the page's end field (minute precision) holds it exactly; the known points end before it. */
const END = Math.floor(Date.now() / 60_000) * 60 - 60;
const HOSTS = ['a', 'b', 'c'];
let browser: Browser;

interface Point {
  readonly metric: string;
  readonly value: number;
  readonly timestamp: number;
}

async function insert(points: readonly Point[]): Promise<void> {
  for (let i = 0; i < points.length; i += 10_000) {
    const response = await fetch(`${stack.baseUrl}/1.0/metrics`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(points.slice(i, i + 10_000)),
    });
    expect(response.status, await response.text()).toBe(200);
  }
}

/** What meetr's API answers for a range query: its series and how many values they hold. */
async function rangeAnswer(query: string, start: number, end: number, step: number): Promise<number[]> {
  const params = new URLSearchParams({ query, start: String(start), end: String(end), step: String(step) });
  const body = (await (await fetch(`${stack.baseUrl}/api/v1/query_range?${params.toString()}`)).json()) as {
    data: { result: { values: unknown[] }[] };
  };
  return body.data.result.map((series) => series.values.length);
}

/** What the page's chart holds (its uPlot instance's data), not what it looks like. */
async function chartData(page: Page, id: string): Promise<{ series: number; points: number[] }> {
  await page.waitForSelector(`#${id}[data-draw-ms]`);
  return page.$eval(`#${id}`, (element: unknown) => {
    const chart = (element as { chart?: { data: (number | null)[][] } }).chart;
    if (chart === undefined) return { series: -1, points: [] };
    const lines = chart.data.slice(1);
    return { series: lines.length, points: lines.map((ys: (number | null)[]) => ys.filter((y) => y !== null).length) };
  });
}

async function openPage(path = '/'): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: 'UTC' });
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
  await page.goto(`${stack.baseUrl}${path}`);
  await page.waitForSelector('body[data-ready]');
  return page;
}

beforeAll(async () => {
  rmSync(shots, { recursive: true, force: true });
  mkdirSync(shots, { recursive: true });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  // Three labelled series every 15 s over the last half hour, a Meetr metric of ten points,
  // 10,001 metrics of one point, and 100 series of 1,000 points each (one a minute) for the drawing figure.
  const points: Point[] = [];
  for (const host of HOSTS)
    for (let t = END - 1800; t < END; t += 15)
      points.push({ metric: `ex_load{explorer_host="${host}"}`, value: (t / 15) % 7, timestamp: t });
  for (let i = 1; i <= 10; i++) points.push({ metric: 'explorer.search', value: i, timestamp: END - 3000 + i * 60 });
  // More series than one selection may match (MEETR_MAX_SERIES, 10,000), as a catalogue soon holds:
  // completion and the series browser list names and values past it.
  for (let i = 0; i <= 10_000; i++) points.push({ metric: `explorer.many.${i}`, value: 1, timestamp: END - 7200 });
  for (let s = 0; s < 100; s++)
    for (let k = 0; k < 1000; k++)
      points.push({ metric: `ex_perf{n="${s}"}`, value: Math.sin(k / 50 + s), timestamp: END - 999 * 60 + k * 60 });
  await insert(points);
}, 180_000);

afterAll(async () => {
  writeFileSync(join(shots, 'figures.json'), `${JSON.stringify(figures, null, 2)}\n`);
  console.log(`explorer figures: ${JSON.stringify(figures)}`);
  await browser?.close();
});

describe('the explorer page, in Chromium through HAProxy', () => {
  it('is small: its script under 300 KB gzipped, served with long-lived caching under a hashed name', async () => {
    const assets = join(PROJECT_ROOT, 'dist-ui', 'assets');
    const script = readdirSync(assets).find((name) => name.endsWith('.js'))!;
    figures.scriptGzippedKB = Math.round(gzipSync(readFileSync(join(assets, script)), { level: 9 }).length / 1024);
    expect(figures.scriptGzippedKB).toBeLessThan(300);
    const index = await fetch(`${stack.baseUrl}/`);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(await index.text()).toContain(`/assets/${script}`);
    const asset = await fetch(`${stack.baseUrl}/assets/${script}`, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await fetch(`${stack.baseUrl}/assets/nothing-here.js`)).status).toBe(404);
  });

  it('charts a typed query, completing the metric name from meetr, with the series and points the API answers', async () => {
    const page = await openPage(`/?range=1h&end=${END}`);
    figures.firstContentfulPaintMs = Math.round(
      await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1),
    );
    await page.click('#editor .cm-content');
    await page.keyboard.type('ex_lo');
    await page.waitForSelector('.cm-tooltip-autocomplete >> text=ex_load');
    await page.keyboard.press('Enter'); // takes the completion
    await page.keyboard.press('Enter'); // runs the query
    const drawn = await chartData(page, 'graph');
    const expected = await rangeAnswer('ex_load', END - 3600, END, 14);
    expect(drawn.series).toBe(HOSTS.length);
    expect(drawn.points).toEqual(expected);
    expect(page.url()).toContain('q=ex_load');
    await page.screenshot({ path: join(shots, 'graph.png') });

    await page.click('[data-view=table]');
    await page.waitForSelector('#table tr');
    const rows = await page.$$eval('#table tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    expect(rows.sort()).toEqual(HOSTS.map((host) => expect.stringContaining(`explorer_host="${host}"`)));
    await page.screenshot({ path: join(shots, 'table.png') });

    // The URL holds the view: opened elsewhere, it shows the same table, and in graph view the same chart.
    const shared = await openPage(new URL(page.url()).pathname + new URL(page.url()).search);
    await shared.waitForSelector('#table tr');
    expect(await shared.$$eval('#table tr', (trs) => trs.length)).toBe(HOSTS.length);
    await shared.click('[data-view=graph]');
    expect(await chartData(shared, 'graph')).toEqual(drawn);
    await page.context().close();
    await shared.context().close();
  });

  it('shows a wrong query as Prometheus words the error', async () => {
    const page = await openPage(`/?range=1h&end=${END}&q=${encodeURIComponent('sum(rate(ex_load[5m])')}`);
    const params = new URLSearchParams({ query: 'sum(rate(ex_load[5m])', start: '1', end: '2', step: '1' });
    const api = (await (await fetch(`${stack.baseUrl}/api/v1/query_range?${params.toString()}`)).json()) as {
      error: string;
    };
    await page.waitForSelector('#query-error:not(:empty)');
    expect(await page.textContent('#query-error')).toBe(api.error);
    expect(api.error).toContain('parse error');
    await page.screenshot({ path: join(shots, 'error.png') });
    await page.context().close();
  });

  it('runs a Meetr search: the single number, and its buckets on the chart', async () => {
    const page = await openPage();
    await page.click('[data-tab=search]');
    const local = (seconds: number): string => new Date(seconds * 1000).toISOString().slice(0, 16);
    await page.fill('[name=metric]', 'explorer.search');
    await page.fill('[name=from]', local(END - 3600));
    await page.fill('[name=to]', local(END));
    await page.fill('[name=tz]', 'UTC');
    await page.selectOption('[name=aggregation]', 'sum');
    await page.selectOption('[name=interval]', '5m');
    await page.click('#search-form button');
    await page.waitForSelector('#search-value:not(:empty)');
    expect(await page.textContent('#search-value')).toBe('55');
    expect(await page.textContent('#search-count')).toBe('sum of 10 points');
    const drawn = await chartData(page, 'search-chart');
    expect(drawn.series).toBe(1);
    expect(drawn.points.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(page.url()).toContain('metric=explorer.search');
    await page.screenshot({ path: join(shots, 'meetr-search.png') });
    await page.context().close();
  });

  it('browses the series: a label, its values with counts, and a value written into the editor', async () => {
    const page = await openPage();
    await page.click('[data-tab=series]');
    await page.click('summary:has-text("explorer_host (3 values)")');
    await page.waitForSelector('li:has-text("b (1 series)")');
    await page.click('li a:text-is("b")');
    expect(await page.textContent('#editor .cm-content')).toBe('{explorer_host="b"}');
    expect(await chartData(page, 'graph')).toMatchObject({ series: 1 });
    await page.screenshot({ path: join(shots, 'series.png') });
    await page.context().close();
  });

  it('shows the status: workers as HAProxy sees them, rollers, Cassandra and the ingest rate', async () => {
    const page = await openPage('/?tab=status');
    await page.waitForSelector('#status-workers tr >> nth=2');
    const workers = await page.$$eval('#status-workers tr', (trs) => trs.slice(1).map((tr) => tr.textContent ?? ''));
    expect(workers).toHaveLength(stack.workerPorts.length);
    for (const worker of workers) expect(worker).toContain('UP');
    expect(await page.textContent('#status-rollers')).toContain(`:${stack.rollerPort}`);
    expect(await page.textContent('#status-cassandra')).toContain('reachable from worker');
    await page.waitForSelector('#status-ingest:has-text("points/s")', { timeout: 15_000 });
    await page.screenshot({ path: join(shots, 'status.png') });
    await page.context().close();
  });

  it('draws 100 series of 1,000 points each (the time from answer to first frame is a figure, not a test)', async () => {
    const page = await openPage(`/?range=999m&step=60&end=${END}&q=ex_perf`);
    const drawn = await chartData(page, 'graph');
    expect(drawn.series).toBe(100);
    expect(drawn.points).toEqual(new Array(100).fill(1000));
    figures.draw100x1000Ms = Number(await page.getAttribute('#graph', 'data-draw-ms'));
    await page.screenshot({ path: join(shots, 'hundred-series.png') });
    await page.context().close();
  });
});

describe('the explorer page with tokens on', () => {
  const dir = join(stack.env.MEETR_RUN_DIR!, 'explorer-auth');
  const env = { ...stack.env, MEETR_AUTH_TOKENS_FILE: join(dir, 'tokens.json') };
  const meetr = async (args: string[], environment: Record<string, string>): Promise<string> =>
    (await run(join(PROJECT_ROOT, 'meetr'), args, { env: environment, cwd: PROJECT_ROOT, maxBuffer: 1 << 26 })).stdout;
  let token = '';

  beforeAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    token = (await meetr(['token', 'create', '--name', 'explorer', '--scope', 'read'], env)).trim().split('\n').pop()!;
    await meetr(['up'], env);
  }, 180_000);

  afterAll(async () => {
    await meetr(['up'], stack.env); // tokens off again for the other files
  }, 180_000);

  it('asks for a token once, sends it as a bearer header and never in a URL, then works', async () => {
    await eventually(
      async () => (await fetch(`${stack.baseUrl}/api/v1/labels`)).status === 401,
      30_000,
      'tokens on through HAProxy',
    );
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: 'UTC' });
    const page = await context.newPage();
    const urls: string[] = [];
    const bearers: (string | undefined)[] = [];
    page.on('request', (request) => {
      urls.push(request.url());
      if (request.url().includes('/api/v1/')) bearers.push(request.headers().authorization);
    });
    await page.goto(`${stack.baseUrl}/?range=1h&end=${END}&q=ex_load`);
    await page.waitForSelector('#token-dialog[open]');
    await page.screenshot({ path: join(shots, 'token.png') });
    await page.fill('#token-input', token);
    await page.click('#token-dialog button');
    const drawn = await chartData(page, 'graph');
    expect(drawn.series).toBe(HOSTS.length);
    expect(await page.$('#token-dialog[open]')).toBeNull();
    expect(urls.some((url) => url.includes(token))).toBe(false);
    expect(bearers.at(-1)).toBe(`Bearer ${token}`);
    await context.close();
  });
});
