/** Every request's route, read once: its name in /metrics, its protocol's envelope, what it needs with tokens on. */
import { describe, expect, it } from 'vitest';
import { routeOf } from '../../src/http/route-table.js';

describe('the route table', () => {
  it('names each route once, a trailing slash the same route, anything unknown "other"', () => {
    const cases: [string, string, string, string, string][] = [
      // method, path, label, protocol, requirement
      ['GET', '/1.0/metrics', '/1.0/metrics', 'meetr', 'read'],
      ['POST', '/1.0/metrics/', '/1.0/metrics', 'meetr', 'write'],
      ['DELETE', '/1.0/metrics', '/1.0/metrics', 'meetr', 'token'],
      ['POST', '/api/v1/write', '/api/v1/write', 'meetr', 'write'],
      ['POST', '/api/v1/write/', '/api/v1/write', 'meetr', 'write'],
      ['GET', '/api/v1/write', '/api/v1/write', 'meetr', 'token'],
      ['POST', '/api/v1/otlp/v1/metrics', '/api/v1/otlp/v1/metrics', 'meetr', 'write'],
      ['GET', '/api/v1/otlp/v1/metrics', '/api/v1/otlp/v1/metrics', 'meetr', 'token'],
      ['POST', '/api/v1/query', '/api/v1/query', 'prometheus', 'read'],
      ['GET', '/api/v1/query_range/', '/api/v1/query_range', 'prometheus', 'read'],
      ['GET', '/api/v1/label/job/values', '/api/v1/label/values', 'prometheus', 'read'],
      ['GET', '/api/v1/status/buildinfo', '/api/v1/status/buildinfo', 'prometheus', 'read'],
      ['GET', '/api/v1/nothing', 'other', 'prometheus', 'read'],
      ['PUT', '/api/v1/query', '/api/v1/query', 'prometheus', 'token'],
      ['GET', '/1.0/series', '/1.0/series', 'meetr', 'read'],
      ['GET', '/1.0/status', '/1.0/status', 'meetr', 'read'],
      ['GET', '/health', '/health', 'meetr', 'open'],
      ['GET', '/', '/', 'meetr', 'open'],
      ['POST', '/', '/', 'meetr', 'token'],
      ['HEAD', '/assets/main-ABC.js', '/assets/', 'meetr', 'open'],
      ['GET', '/metrics', 'other', 'meetr', 'token'],
    ];
    const got = cases.map(([method, path]) => {
      const route = routeOf(method, path);
      const needs = route.requirement.kind === 'scope' ? route.requirement.scope : route.requirement.kind;
      return [method, path, route.label, route.protocol, needs];
    });
    expect(got).toEqual(cases);
  });
});
