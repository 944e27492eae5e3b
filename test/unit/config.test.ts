import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('has production-sane defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 9001,
      workers: 2,
      httpPort: 8888,
      statsPort: 8404,
      contactPoints: [],
      contactPointsConfigured: false,
      localDataCenter: 'datacenter1',
      credentials: undefined,
      keyspace: 'meetr',
      replication: { class: 'SimpleStrategy', replicationFactor: 1 },
      consistency: 'LOCAL_QUORUM',
      defaultTimeZone: 'UTC',
      maxBodyBytes: 32 * 1024 * 1024,
      maxBatch: 100_000,
      storageConcurrency: 32,
      writeConcurrency: 16,
      cassandraHeap: '1G',
      runDir: '.local/run',
      appName: 'meetr',
    });
  });

  it.each([
    ['PORT', '9005', { port: 9005 }],
    ['MEETR_WORKERS', '4', { workers: 4 }],
    ['MEETR_HTTP_PORT', '8080', { httpPort: 8080 }],
    ['MEETR_STATS_PORT', '9404', { statsPort: 9404 }],
    ['CASSANDRA_CONTACT_POINTS', ' db1:9042, db2 ', { contactPoints: ['db1:9042', 'db2'], contactPointsConfigured: true }],
    ['CASSANDRA_LOCAL_DC', 'eu-west', { localDataCenter: 'eu-west' }],
    ['MEETR_KEYSPACE', 'metrics_prod', { keyspace: 'metrics_prod' }],
    ['MEETR_REPLICATION', '3', { replication: { class: 'SimpleStrategy', replicationFactor: 3 } }],
    ['MEETR_REPLICATION', 'dc1:3, dc2:2', { replication: { class: 'NetworkTopologyStrategy', dataCenters: { dc1: 3, dc2: 2 } } }],
    ['MEETR_CONSISTENCY', 'quorum', { consistency: 'QUORUM' }],
    ['MEETR_DEFAULT_TZ', 'Asia/Kolkata', { defaultTimeZone: 'Asia/Kolkata' }],
    ['MEETR_MAX_BODY_BYTES', '1048576', { maxBodyBytes: 1_048_576 }],
    ['MEETR_MAX_BATCH', '500', { maxBatch: 500 }],
    ['MEETR_STORAGE_TIMEOUT_MS', '1500', { storageTimeoutMs: 1500 }],
    ['MEETR_STORAGE_CONCURRENCY', '8', { storageConcurrency: 8 }],
    ['MEETR_WRITE_CONCURRENCY', '4', { writeConcurrency: 4 }],
    ['MEETR_CASSANDRA_HEAP', '768M', { cassandraHeap: '768M' }],
    ['MEETR_RUN_DIR', '/var/run/meetr', { runDir: '/var/run/meetr' }],
    ['MEETR_APP_NAME', 'meetr-functional', { appName: 'meetr-functional' }],
  ])('reads %s=%s', (name, value, expected) => {
    expect(loadConfig({ [name]: value })).toMatchObject(expected);
  });

  it('takes credentials only as a pair', () => {
    expect(loadConfig({ CASSANDRA_USERNAME: 'u', CASSANDRA_PASSWORD: 'p' }).credentials).toEqual({ username: 'u', password: 'p' });
    expect(() => loadConfig({ CASSANDRA_USERNAME: 'u' })).toThrow(/CASSANDRA_USERNAME and CASSANDRA_PASSWORD must be set together/);
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
});
