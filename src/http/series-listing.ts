/**
 * GET /1.0/series: the Meetr catalogue listing, paged, `match[]` optional; each
 * page's `next` is an opaque cursor the catalogue checks when it comes back.
 */
import type { Handler } from 'hono';
import { invalidRequest } from '../errors.js';
import { cataloguePosition, type CatalogueService, type CataloguePosition } from '../query/catalogue-service.js';
import type { AppEnv } from './app-env.js';
import { countParam, matcherSets, paramsOf } from './prometheus-params.js';

/** Series per page, by default and at most. */
const DEFAULT_PAGE = 1_000;
const MAX_PAGE = 10_000;

/** The listing's handler. */
export function seriesListing(catalogue: CatalogueService, maxBodyBytes: number): Handler<AppEnv> {
  return async (c) => {
    const params = await paramsOf(c, maxBodyBytes);
    const limit = countParam(params, 'limit', DEFAULT_PAGE, MAX_PAGE);
    if (limit === undefined)
      throw invalidRequest(`limit must be a whole number from 1 to ${MAX_PAGE}`, [
        { field: 'limit', message: `must be 1 to ${MAX_PAGE}` },
      ]);
    const sets = matcherSets(params);
    if (sets.length > 1)
      throw invalidRequest('give at most one match[] selector to a listing', [
        { field: 'match[]', message: 'at most one' },
      ]);
    const after = params.get('after');
    const page = await catalogue.page(
      sets[0] ?? [],
      limit,
      after === undefined ? undefined : decodeCursor(after),
      c.get('scope'),
    );
    return c.json({
      series: page.series.map((s) => ({ metric: s.metricId, labels: s.labels })),
      next: page.next === undefined ? null : encodeCursor(page.next),
    });
  };
}

/** The cursor of GET /1.0/series: where the next page starts, opaque to clients. */
function encodeCursor(position: CataloguePosition): string {
  return Buffer.from(JSON.stringify([position.shard, position.name, position.metricId])).toString('base64url');
}

function decodeCursor(text: string): CataloguePosition {
  try {
    const [shard, name, metricId] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown[];
    const position = cataloguePosition(shard, name, metricId);
    if (position !== undefined) return position;
  } catch {
    // answered below
  }
  throw invalidRequest('the after parameter is not a cursor this API gave', [
    { field: 'after', message: 'must be the "next" of an earlier page' },
  ]);
}
