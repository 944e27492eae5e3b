/**
 * The series catalogue: which metric ids have points, as labelled series, found by
 * label matchers. A matcher set with an exact name (`__name__="up"`, or `up{...}`)
 * reads one slice of one catalogue partition, one whose name pattern lists names
 * (`__name__=~"a|b"`) a slice per name, one whose pattern begins with a literal
 * (`__name__=~"node_.*"`) that prefix's names in each partition (name-bounds.ts);
 * any other reads all of them. Either
 * way it is read page by page and bounded: a listing never reads more than
 * `maxScanned` catalogue rows, a selection never answers more than `maxSeries`
 * series (label names and values, which hold no series, are bounded by the rows only).
 */
import { dayBucket, dayEndMs, dayStartMs } from '../time/day-bucket.js';
import { createYielder, YIELD_MS } from '../concurrency.js';
import { MeetrError } from '../errors.js';
import { nameBounds, type NameBounds } from '../domain/name-bounds.js';
import {
  compareText,
  matchesAll,
  NAME_LABEL,
  seriesLabels,
  type CompiledMatcher,
  type SeriesEntry,
} from '../domain/series.js';
import {
  catalogueShardOf,
  compareCatalogueKeys,
  CATALOGUE_SHARDS,
  type CatalogueEntry,
  type CatalogueKey,
  type CatalogueSlice,
  type SeriesReader,
} from '../storage/ports.js';
import { groupOf } from '../domain/groups.js';
import { type EpochMs } from '../time/units.js';
import { checkScope, type WorkScope } from '../work-scope.js';

/** A position in the catalogue from a client's cursor, or undefined when it names none. */
export function cataloguePosition(shard: unknown, name: unknown, metricId: unknown): CataloguePosition | undefined {
  const valid =
    typeof shard === 'number' &&
    Number.isInteger(shard) &&
    shard >= 0 &&
    shard < CATALOGUE_SHARDS &&
    typeof name === 'string' &&
    typeof metricId === 'string';
  return valid ? { shard, name, metricId } : undefined;
}

export interface CatalogueServiceOptions {
  readonly reader: SeriesReader;
  /** Most series one selection may match (MEETR_MAX_SERIES). */
  readonly maxSeries: number;
  /** Most catalogue rows one request reads while looking for matches. */
  readonly maxScanned: number;
}

/** Where a paged listing resumes: after this row of the catalogue. */
export interface CataloguePosition {
  readonly shard: number;
  readonly name: string;
  readonly metricId: string;
}

export interface SeriesPage {
  readonly series: SeriesEntry[];
  /** Where the next page starts; absent on the last page. */
  readonly next?: CataloguePosition;
}

/** The catalogue's cardinality, read in one pass: how many series, and how they spread over names and values. */
export interface CatalogueStats {
  readonly numSeries: number;
  /** The first and last UTC day with points, as instants (day precision); undefined for an empty catalogue. */
  readonly minTime?: EpochMs;
  readonly maxTime?: EpochMs;
  /** Per label name (`__name__`, the metric name, included), series per value. */
  readonly seriesByValue: ReadonlyMap<string, ReadonlyMap<string, number>>;
}

export interface CatalogueService {
  /**
   * The series matching any of `sets` (every matcher of a set) whose points reach
   * into [fromMs, toMs] (by UTC day), each once, in metric id order. Throws
   * query_too_large (422) past maxSeries matches or maxScanned rows read.
   */
  select(
    sets: ReadonlyArray<readonly CompiledMatcher[]>,
    fromMs: EpochMs,
    toMs: EpochMs,
    scope: WorkScope,
  ): Promise<SeriesEntry[]>;
  /**
   * The label names (`name` undefined) or the values of label `name` among the series
   * `select` would find, sorted. Not bounded by maxSeries, since the answer holds
   * names and values, not series: a catalogue of any size can be listed, reading at
   * most maxScanned rows (query_too_large past them).
   */
  labels(
    sets: ReadonlyArray<readonly CompiledMatcher[]>,
    fromMs: EpochMs,
    toMs: EpochMs,
    scope: WorkScope,
    name?: string,
  ): Promise<string[]>;
  /**
   * Every series' labels counted in one pass over the catalogue, reading at most
   * maxScanned rows (query_too_large past them), as label names and values do.
   */
  stats(scope: WorkScope): Promise<CatalogueStats>;
  /**
   * Up to `limit` series matching `matchers`, in catalogue order, after `after`.
   * A page may hold fewer when maxScanned rows were read first; `next` goes on.
   */
  page(
    matchers: readonly CompiledMatcher[],
    limit: number,
    after: CataloguePosition | undefined,
    scope: WorkScope,
  ): Promise<SeriesPage>;
}

/** Catalogue rows read per statement. */
const ROWS_PER_READ = 1_000;

/** The catalogue rows a matcher set can match, from `after` on, page by page. */
async function* catalogueRows(
  reader: SeriesReader,
  matchers: readonly CompiledMatcher[],
  after: CataloguePosition | undefined,
  scope: WorkScope,
): AsyncGenerator<CatalogueEntry & { shard: number }> {
  for (const { shard, slice } of slicesOf(nameBounds(matchers), after)) {
    let from = slice.after;
    for (;;) {
      checkScope(scope);
      const page = await reader.listSeries(shard, ROWS_PER_READ, { ...slice, after: from });
      for (const entry of page) yield { ...entry, shard };
      const last = page[page.length - 1];
      if (last === undefined || page.length < ROWS_PER_READ) break;
      from = { name: last.name, metricId: last.metricId };
    }
  }
}

/**
 * The slices of the catalogue that hold the names within `bounds` (all of it without
 * any), in catalogue order (shard, name, metric id), from after `after` on.
 */
function slicesOf(
  bounds: NameBounds | undefined,
  after: CataloguePosition | undefined,
): Array<{ shard: number; slice: CatalogueSlice }> {
  const firstShard = after?.shard ?? 0;
  /** The later of `from` and `after` as where a shard's listing starts. */
  const resume = (shard: number, from?: CatalogueKey): CatalogueKey | undefined =>
    after?.shard === shard && (from === undefined || compareCatalogueKeys(after, from) > 0) ? after : from;
  if (bounds !== undefined && 'names' in bounds) {
    return [...new Set(bounds.names)]
      .map((name) => {
        const shard = catalogueShardOf(name);
        return { shard, slice: { name, after: resume(shard, { name, metricId: '' }) } };
      })
      .filter(
        ({ shard, slice }) =>
          shard > firstShard || (shard === firstShard && compareText(slice.name, after?.name ?? '') >= 0),
      )
      .sort((a, b) => a.shard - b.shard || compareText(a.slice.name, b.slice.name));
  }
  const start = bounds === undefined ? undefined : { name: bounds.prefix, metricId: '' };
  return Array.from({ length: CATALOGUE_SHARDS - firstShard }, (_, i) => {
    const shard = firstShard + i;
    return { shard, slice: { after: resume(shard, start), ...(bounds !== undefined && { before: bounds.before }) } };
  });
}

const tooLarge = (message: string): MeetrError => new MeetrError('query_too_large', message);

/** The series of `sets` whose points reach into [fromMs, toMs], a series once per set it matches. */
async function* matching(
  { reader, maxScanned }: CatalogueServiceOptions,
  sets: ReadonlyArray<readonly CompiledMatcher[]>,
  fromMs: EpochMs,
  toMs: EpochMs,
  scope: WorkScope,
): AsyncGenerator<SeriesEntry> {
  const [fromDay, toDay] = [dayBucket(fromMs), dayBucket(toMs)];
  let scanned = 0;
  const turn = createYielder(YIELD_MS); // a long scan never holds up other requests
  for (const matchers of sets) {
    for await (const entry of catalogueRows(reader, matchers, undefined, scope)) {
      await turn();
      if (++scanned > maxScanned)
        throw tooLarge(
          `the selection reads more than ${maxScanned} catalogue rows; select by metric name (__name__="...") or narrow the matchers`,
        );
      if (entry.lastDay < fromDay || entry.firstDay > toDay) continue;
      const labels = seriesLabels(entry.metricId);
      if (matchesAll(labels, matchers))
        yield { metricId: entry.metricId, labels, firstDay: entry.firstDay, lastDay: entry.lastDay };
    }
  }
}

/** Every series' labels counted in one pass. */
async function catalogueStats(options: CatalogueServiceOptions, scope: WorkScope): Promise<CatalogueStats> {
  const seriesByValue = new Map<string, Map<string, number>>();
  let [numSeries, minDay, maxDay] = [0, Infinity, -Infinity];
  for await (const { labels, firstDay, lastDay } of matching(options, [[]], -Infinity, Infinity, scope)) {
    numSeries++;
    [minDay, maxDay] = [Math.min(minDay, firstDay), Math.max(maxDay, lastDay)];
    for (const [name, value] of Object.entries(labels)) {
      const values = groupOf(seriesByValue, name, () => new Map<string, number>());
      values.set(value, (values.get(value) ?? 0) + 1);
    }
  }
  if (numSeries === 0) return { numSeries, seriesByValue };
  return { numSeries, minTime: dayStartMs(minDay), maxTime: dayEndMs(maxDay), seriesByValue };
}

export function createCatalogueService(options: CatalogueServiceOptions): CatalogueService {
  const { reader, maxSeries, maxScanned } = options;

  return {
    async select(sets, fromMs, toMs, scope) {
      const found = new Map<string, SeriesEntry>();
      for await (const series of matching(options, sets, fromMs, toMs, scope)) {
        found.set(series.metricId, series);
        if (found.size > maxSeries)
          throw tooLarge(`more than ${maxSeries} series match (MEETR_MAX_SERIES); narrow the matchers`);
      }
      return [...found.values()].sort((a, b) => (a.metricId < b.metricId ? -1 : a.metricId > b.metricId ? 1 : 0));
    },

    async labels(sets, fromMs, toMs, scope, name) {
      const found = new Set<string>();
      for await (const { labels } of matching(options, sets, fromMs, toMs, scope)) {
        if (name === undefined) {
          found.add(NAME_LABEL);
          for (const label of Object.keys(labels)) found.add(label);
        } else {
          const value = labels[name];
          if (value !== undefined && value !== '') found.add(value);
        }
      }
      return [...found].sort();
    },

    stats: (scope) => catalogueStats(options, scope),

    async page(matchers, limit, after, scope) {
      const series: SeriesEntry[] = [];
      let scanned = 0;
      const turn = createYielder(YIELD_MS); // a long scan never holds up other requests
      for await (const entry of catalogueRows(reader, matchers, after, scope)) {
        await turn();
        const position = { shard: entry.shard, name: entry.name, metricId: entry.metricId };
        const labels = seriesLabels(entry.metricId);
        if (matchesAll(labels, matchers))
          series.push({ metricId: entry.metricId, labels, firstDay: entry.firstDay, lastDay: entry.lastDay });
        if (series.length === limit || ++scanned === maxScanned) return { series, next: position };
      }
      return { series };
    },
  };
}
