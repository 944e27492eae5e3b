import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('has production-sane defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 9001,
      workers: 2,
      httpPort: 8888,
      maxConnsPerSource: 4000,
      statsPort: 8404,
      contactPoints: ['127.0.0.1:9042'],
      contactPointsConfigured: false,
      localNodes: 1,
      localDataCenter: 'datacenter1',
      credentials: undefined,
      keyspace: 'meetr',
      replication: { class: 'SimpleStrategy', replicationFactor: 1 },
      readConsistency: 'LOCAL_QUORUM',
      writeConsistency: 'LOCAL_QUORUM',
      defaultTimeZone: 'UTC',
      maxBodyBytes: 32 * 1024 * 1024,
      maxBatch: 100_000,
      storageConcurrency: 32,
      writeConcurrency: 16,
      requestTimeoutMs: 20_000,
      maxQueuedPoints: 1_000_000,
      maxQueueDelayMs: 500,
      largeWritePartitions: 20_000,
      maxSearches: 16,
      maxWaitingSearches: 64,
      maxSearchPartitions: 20_000,
      maxSeries: 10_000,
      maxQuerySamples: 5_000_000,
      retention: { raw: undefined, levels: { '15m': undefined, '1h': undefined, '1d': undefined } },
      rollers: 1,
      rollerPort: 9400,
      cassandraHeap: 'auto',
      runDir: '.local/run',
      appName: 'meetr',
    });
  });

  it.each([
    ['PORT', '9005', { port: 9005 }],
    ['MEETR_WORKERS', '4', { workers: 4 }],
    ['MEETR_HTTP_PORT', '8080', { httpPort: 8080 }],
    ['MEETR_STATS_PORT', '9404', { statsPort: 9404 }],
    ['MEETR_MAX_CONNS_PER_SOURCE', '100', { maxConnsPerSource: 100 }],
    [
      'CASSANDRA_CONTACT_POINTS',
      ' db1:9042, db2 ',
      { contactPoints: ['db1:9042', 'db2'], contactPointsConfigured: true },
    ],
    ['CASSANDRA_LOCAL_DC', 'eu-west', { localDataCenter: 'eu-west' }],
    ['MEETR_KEYSPACE', 'metrics_prod', { keyspace: 'metrics_prod' }],
    ['MEETR_REPLICATION', '3', { replication: { class: 'SimpleStrategy', replicationFactor: 3 } }],
    [
      'MEETR_REPLICATION',
      'datacenter1:3, dc2:2',
      { replication: { class: 'NetworkTopologyStrategy', dataCenters: { datacenter1: 3, dc2: 2 } } },
    ],
    ['MEETR_CONSISTENCY', 'quorum', { readConsistency: 'QUORUM', writeConsistency: 'QUORUM' }],
    ['MEETR_READ_CONSISTENCY', 'one', { readConsistency: 'ONE', writeConsistency: 'LOCAL_QUORUM' }],
    ['MEETR_WRITE_CONSISTENCY', 'all', { readConsistency: 'LOCAL_QUORUM', writeConsistency: 'ALL' }],
    ['MEETR_REQUEST_TIMEOUT_MS', '5000', { requestTimeoutMs: 5_000 }],
    ['MEETR_MAX_QUEUED_POINTS', '200000', { maxQueuedPoints: 200_000 }],
    ['MEETR_MAX_QUEUE_DELAY_MS', '250', { maxQueueDelayMs: 250 }],
    ['MEETR_LARGE_WRITE_PARTITIONS', '5000', { largeWritePartitions: 5_000 }],
    ['MEETR_MAX_SEARCHES', '4', { maxSearches: 4 }],
    ['MEETR_MAX_WAITING_SEARCHES', '0', { maxWaitingSearches: 0 }],
    ['MEETR_MAX_SEARCH_PARTITIONS', '100', { maxSearchPartitions: 100 }],
    ['MEETR_MAX_SERIES', '500', { maxSeries: 500 }],
    ['MEETR_MAX_QUERY_SAMPLES', '1000', { maxQuerySamples: 1000 }],
    ['MEETR_DEFAULT_TZ', 'Asia/Kolkata', { defaultTimeZone: 'Asia/Kolkata' }],
    ['MEETR_MAX_BODY_BYTES', '1048576', { maxBodyBytes: 1_048_576 }],
    ['MEETR_MAX_BATCH', '500', { maxBatch: 500 }],
    ['MEETR_STORAGE_TIMEOUT_MS', '1500', { storageTimeoutMs: 1500 }],
    ['MEETR_STORAGE_CONCURRENCY', '8', { storageConcurrency: 8 }],
    ['MEETR_WRITE_CONCURRENCY', '4', { writeConcurrency: 4 }],
    ['MEETR_CASSANDRA_HEAP', '768M', { cassandraHeap: '768M' }],
    ['MEETR_CASSANDRA_HEAP', 'auto', { cassandraHeap: 'auto' }],
    ['MEETR_RUN_DIR', '/var/run/meetr', { runDir: '/var/run/meetr' }],
    ['MEETR_APP_NAME', 'meetr-functional', { appName: 'meetr-functional' }],
    ['MEETR_ROLLERS', '3', { rollers: 3 }],
    ['MEETR_ROLLER_PORT', '9500', { rollerPort: 9500 }],
    [
      'MEETR_RETENTION_RAW',
      '30d',
      {
        retention: {
          raw: 30 * 86_400_000,
          levels: { '15m': undefined, '1h': undefined, '1d': undefined },
        },
      },
    ],
  ])('reads %s=%s', (name, value, expected) => {
    expect(loadConfig({ [name]: value })).toMatchObject(expected);
  });

  it('takes retentions that grow from raw points to days, and names the one that does not', () => {
    const config = loadConfig({
      MEETR_RETENTION_RAW: '7d',
      MEETR_RETENTION_15M: '90d',
      MEETR_RETENTION_1H: '1y',
      MEETR_RETENTION_1D: 'forever',
    });
    expect(config.retention).toEqual({
      raw: 7 * 86_400_000,
      levels: { '15m': 90 * 86_400_000, '1h': 365 * 86_400_000, '1d': undefined },
      rawKeep: 3 * 86_400_000,
    });
    expect(() => loadConfig({ MEETR_RETENTION_RAW: '30d', MEETR_RETENTION_15M: '7d' })).toThrow(
      /MEETR_RETENTION_15M is shorter than MEETR_RETENTION_RAW/,
    );
    // From when minute rollups were kept: no longer read, so an older configuration still starts.
    expect(loadConfig({ MEETR_RETENTION_RAW: '30d', MEETR_RETENTION_1M: '7d' }).retention.levels).not.toHaveProperty(
      '1m',
    );
    expect(() => loadConfig({ MEETR_RETENTION_1H: '30d' })).toThrow(
      /MEETR_RETENTION_1H .* is shorter than MEETR_RETENTION_15M \(forever\)/,
    );
    expect(() => loadConfig({ MEETR_RETENTION_RAW: 'a month' })).toThrow(
      /MEETR_RETENTION_RAW: "a month" is not a retention/,
    );
  });

  it('keeps raw rows 3 days after they are written unless told otherwise, at least 2 days, or forever', () => {
    expect(loadConfig({}).retention.rawKeep).toBe(3 * 86_400_000);
    expect(loadConfig({ MEETR_RAW_KEEP: '1w' }).retention.rawKeep).toBe(7 * 86_400_000);
    expect(loadConfig({ MEETR_RAW_KEEP: 'forever' }).retention.rawKeep).toBeUndefined();
    expect(() => loadConfig({ MEETR_RAW_KEEP: '12h' })).toThrow(/MEETR_RAW_KEEP must be at least 2d/);
    expect(() => loadConfig({ MEETR_RAW_KEEP: 'soon' })).toThrow(/MEETR_RAW_KEEP: "soon" is not a retention/);
  });

  it('runs MEETR_LOCAL_NODES local nodes with a copy of everything on each, unless told otherwise', () => {
    expect(loadConfig({ MEETR_LOCAL_NODES: '3' })).toMatchObject({
      localNodes: 3,
      contactPoints: ['127.0.0.1:9042', '127.0.0.2:9042', '127.0.0.3:9042'],
      contactPointsConfigured: false,
      replication: { class: 'SimpleStrategy', replicationFactor: 3 },
      readConsistency: 'LOCAL_QUORUM',
      writeConsistency: 'LOCAL_QUORUM',
    });
    expect(loadConfig({ MEETR_LOCAL_NODES: '3', MEETR_REPLICATION: '2' }).replication).toEqual({
      class: 'SimpleStrategy',
      replicationFactor: 2,
    });
    // A configured cluster keeps factor 1 unless MEETR_REPLICATION says otherwise: meetr cannot know its size.
    expect(loadConfig({ CASSANDRA_CONTACT_POINTS: 'db1' }).replication).toEqual({
      class: 'SimpleStrategy',
      replicationFactor: 1,
    });
    expect(() => loadConfig({ MEETR_LOCAL_NODES: '4' })).toThrow(/MEETR_LOCAL_NODES/);
    expect(() => loadConfig({ MEETR_LOCAL_NODES: '3', CASSANDRA_CONTACT_POINTS: 'db1' })).toThrow(
      /MEETR_LOCAL_NODES: meetr starts local nodes only when CASSANDRA_CONTACT_POINTS is not set/,
    );
  });

  it('takes credentials only as a pair', () => {
    expect(loadConfig({ CASSANDRA_USERNAME: 'u', CASSANDRA_PASSWORD: 'p' }).credentials).toEqual({
      username: 'u',
      password: 'p',
    });
    expect(() => loadConfig({ CASSANDRA_USERNAME: 'u' })).toThrow(
      /CASSANDRA_USERNAME and CASSANDRA_PASSWORD must be set together/,
    );
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['MEETR_WORKERS', '0'],
    ['MEETR_HTTP_PORT', '8.5'],
    ['CASSANDRA_CONTACT_POINTS', 'db1;drop'],
    ['CASSANDRA_LOCAL_DC', 'dc 1'],
    ['MEETR_KEYSPACE', 'meetr; DROP KEYSPACE x'],
    ['MEETR_KEYSPACE', '1meetr'],
    ['MEETR_REPLICATION', 'three'],
    ['MEETR_REPLICATION', 'dc1:0'],
    ['MEETR_CONSISTENCY', 'SOME'],
    ['MEETR_CONSISTENCY', 'ANY'],
    ['MEETR_WRITE_CONSISTENCY', 'any'],
    ['MEETR_READ_CONSISTENCY', 'THREE'],
    ['MEETR_REPLICATION', 'dc1:3'],
    ['MEETR_REQUEST_TIMEOUT_MS', '26000'],
    ['MEETR_REQUEST_TIMEOUT_MS', '2000'],
    ['MEETR_MAX_QUEUED_POINTS', '1000'],
    ['MEETR_DEFAULT_TZ', 'Mars/Olympus'],
    ['MEETR_MAX_BODY_BYTES', '10'],
    ['MEETR_MAX_BATCH', '0'],
    ['MEETR_STORAGE_TIMEOUT_MS', '1'],
    ['MEETR_WRITE_CONCURRENCY', '0'],
    ['MEETR_CASSANDRA_HEAP', 'lots'],
    ['MEETR_APP_NAME', 'a b'],
  ])('rejects %s=%s, naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^invalid configuration:\\n  ${name}`));
  });

  it('lists every bad variable at once', () => {
    try {
      loadConfig({ PORT: 'x', MEETR_DEFAULT_TZ: 'Nowhere/Land', MEETR_MAX_BATCH: '-3' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems;
      expect(problems).toHaveLength(3);
      expect(problems.map((p) => p.split(':')[0])).toEqual(['PORT', 'MEETR_DEFAULT_TZ', 'MEETR_MAX_BATCH']);
    }
  });

  it.each([
    [{ MEETR_REPLICATION: '3', MEETR_CONSISTENCY: 'ONE' }, /need not reach a common replica/],
    [
      { MEETR_REPLICATION: '3', MEETR_READ_CONSISTENCY: 'ONE', MEETR_WRITE_CONSISTENCY: 'QUORUM' },
      /need not reach a common replica/,
    ],
    [
      {
        MEETR_REPLICATION: 'datacenter1:3,dc2:3',
        MEETR_READ_CONSISTENCY: 'LOCAL_ONE',
        MEETR_WRITE_CONSISTENCY: 'LOCAL_QUORUM',
      },
      /need not reach a common replica/,
    ],
    [
      {
        MEETR_REPLICATION: 'dc1:3,dc2:3',
        CASSANDRA_LOCAL_DC: 'dc1',
        MEETR_READ_CONSISTENCY: 'QUORUM',
        MEETR_WRITE_CONSISTENCY: 'LOCAL_QUORUM',
      },
      /need not reach a common replica/,
    ],
  ])('refuses consistency levels whose replicas need not overlap: %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it.each([
    { MEETR_REPLICATION: '3', MEETR_CONSISTENCY: 'QUORUM' },
    { MEETR_REPLICATION: '3', MEETR_READ_CONSISTENCY: 'ONE', MEETR_WRITE_CONSISTENCY: 'ALL' },
    { MEETR_REPLICATION: 'dc1:3,dc2:3', CASSANDRA_LOCAL_DC: 'dc1' },
    {
      MEETR_REPLICATION: 'dc1:3,dc2:3',
      CASSANDRA_LOCAL_DC: 'dc1',
      MEETR_READ_CONSISTENCY: 'LOCAL_QUORUM',
      MEETR_WRITE_CONSISTENCY: 'EACH_QUORUM',
    },
    { MEETR_REPLICATION: '1', MEETR_CONSISTENCY: 'ONE' },
  ])('accepts consistency levels whose replicas overlap: %j', (env) => {
    expect(() => loadConfig(env)).not.toThrow();
  });
});
