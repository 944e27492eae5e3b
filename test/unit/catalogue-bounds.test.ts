/**
 * Name patterns as catalogue bounds: every name a `__name__` pattern matches lies
 * within the bounds read off it, and a selection by such a pattern reads only the
 * catalogue slices that hold them, with the same answer, paged or not.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nameBounds, type NameBounds } from '../../src/domain/name-bounds.js';
import { compileAnchored } from '../../src/domain/regex.js';
import { compileMatcher, NAME_LABEL, seriesName, type LabelMatcher } from '../../src/domain/series.js';
import { createCatalogueService, type CataloguePosition } from '../../src/query/catalogue-service.js';
import { catalogueShardOf } from '../../src/storage/ports.js';
import { InMemoryPointStore } from '../../src/storage/memory/in-memory-point-store.js';
import { UNBOUNDED } from '../../src/work-scope.js';

const byName = (value: string): LabelMatcher[] => [{ name: NAME_LABEL, op: '=~', value }];

const within = (bounds: NameBounds, name: string): boolean =>
  'names' in bounds ? bounds.names.includes(name) : name >= bounds.prefix && name < bounds.before;

describe('the names a __name__ matcher bounds', () => {
  it('reads names off literal patterns, a prefix off patterns that begin with literals, and nothing off the rest', () => {
    expect(nameBounds([{ name: NAME_LABEL, op: '=', value: 'up' }])).toEqual({ names: ['up'] });
    expect(nameBounds(byName('up|node_load1'))).toEqual({ names: ['up', 'node_load1'] });
    expect(nameBounds(byName('cpu\\.load|a\\|b'))).toEqual({ names: ['cpu.load', 'a|b'] });
    expect(nameBounds(byName('node_.*'))).toEqual({ prefix: 'node_', before: 'node`' });
    expect(nameBounds(byName('http_(requests|errors)_total'))).toEqual({ prefix: 'http', before: 'httq' });
    expect(nameBounds(byName('ab*c'))).toEqual({ prefix: 'a', before: 'b' });
    expect(nameBounds(byName('ab+c'))).toEqual({ prefix: 'a', before: 'b' });
    expect(nameBounds(byName('ab{0,2}'))).toEqual({ prefix: 'a', before: 'b' });
    expect(nameBounds(byName('ab?'))).toEqual({ prefix: 'a', before: 'b' });
    expect(nameBounds(byName('a[|]b.*'))).toEqual({ prefix: 'a', before: 'b' });
    for (const unbounded of [
      '.*',
      'a.*|b.*',
      '(?i)node_.*',
      '[a-z]+_total',
      '\\w+',
      'é.*',
      '(a|b)c',
      'a)|(.*',
      'ab\\Q(\\E|c',
    ])
      expect(nameBounds(byName(unbounded)), unbounded).toBeUndefined();
    expect(nameBounds([{ name: 'job', op: '=~', value: 'api' }])).toBeUndefined();
    expect(nameBounds([{ name: NAME_LABEL, op: '!~', value: 'a' }])).toBeUndefined();
  });

  it('never leaves out a name the pattern matches', () => {
    const piece = fc.constantFrom(
      ...'a b A _ : . \\. | ( ) (?: (?i) * + ? {1,2} [ab] [|] [^]a] \\| \\w .* é \\Q \\E'.split(' '),
    );
    const name = fc
      .array(fc.constantFrom('a', 'b', 'A', '_', ':', '.', '|', ']', 'é'), { maxLength: 6 })
      .map((c) => c.join(''));
    fc.assert(
      fc.property(
        fc.array(piece, { minLength: 1, maxLength: 7 }),
        fc.array(name, { maxLength: 30 }),
        (pieces, names) => {
          const pattern = pieces.join('');
          let regex;
          try {
            regex = compileAnchored(pattern);
          } catch {
            return; // not a pattern RE2 takes: refused before any read
          }
          const bounds = nameBounds(byName(pattern));
          if (bounds === undefined) return;
          for (const candidate of [...names, ...('names' in bounds ? bounds.names : [bounds.prefix])])
            if (regex.test(candidate)) expect(within(bounds, candidate), `${candidate} ~ ${pattern}`).toBe(true);
        },
      ),
      { numRuns: 5_000 },
    );
  });
});

describe('a selection by a bounded name pattern', () => {
  async function catalogueOf(ids: readonly string[], maxScanned: number) {
    const store = new InMemoryPointStore();
    for (const metricId of ids) {
      const name = seriesName(metricId);
      await store.recordSeries(catalogueShardOf(name), [{ metricId, name, firstDay: 0, lastDay: 0 }]);
    }
    return createCatalogueService({ reader: store, maxSeries: 10_000, maxScanned });
  }
  const others = Array.from({ length: 2_000 }, (_, i) => `other_${i}{i="${i}"}`);
  const wanted = ['node_load1', 'node_load5{cpu="0"}', 'node_cpu{cpu="1"}', 'up{job="a"}', 'up{job="b"}', 'node'];
  const ids = [...others, ...wanted];

  it('reads only where the names lie: answered within a bound that a whole scan exceeds', async () => {
    const bounded = await catalogueOf(ids, 100);
    const whole = await catalogueOf(ids, 1_000_000);
    for (const pattern of ['node_.*', 'node_load.', 'up|node', 'node_(cpu|load1)']) {
      const sets = [byName(pattern).map(compileMatcher)];
      const found = await bounded.select(sets, 0, 86_399_999, UNBOUNDED);
      expect(found.map((s) => s.metricId)).toEqual(
        (await whole.select(sets, 0, 86_399_999, UNBOUNDED)).map((s) => s.metricId),
      );
      expect(found.length, pattern).toBeGreaterThan(0);
    }
    await expect(
      bounded.select([byName('.*node.*').map(compileMatcher)], 0, 86_399_999, UNBOUNDED),
    ).rejects.toMatchObject({ code: 'query_too_large' });
  });

  it('pages through the same series one at a time', async () => {
    const catalogue = await catalogueOf(ids, 1_000_000);
    for (const pattern of ['node_.*', 'up|node|other_7', 'other_1.*']) {
      const matchers = byName(pattern).map(compileMatcher);
      const paged: string[] = [];
      let after: CataloguePosition | undefined;
      do {
        const page = await catalogue.page(matchers, 1, after, UNBOUNDED);
        paged.push(...page.series.map((s) => s.metricId));
        after = page.next;
      } while (after !== undefined);
      const selected = await catalogue.select([matchers], 0, 86_399_999, UNBOUNDED);
      expect(paged.sort(), pattern).toEqual(selected.map((s) => s.metricId).sort());
    }
  });
});
