/** What the driver does with a statement that timed out at its coordinator, and what the log says of a failure. */
import cassandra from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import { StorageUnavailableError } from '../../src/errors.js';
import { classifyDriverError } from '../../src/storage/cassandra/errors.js';
import { IdempotentRetryPolicy, STATEMENT_ATTEMPTS } from '../../src/storage/cassandra/retry-policy.js';

const { localQuorum } = cassandra.types.consistencies;

function attempt(nbRetry: number, idempotent = true): cassandra.policies.retry.OperationInfo {
  return {
    query: 'INSERT …',
    nbRetry,
    executionOptions: { isIdempotent: () => idempotent },
  } as unknown as cassandra.policies.retry.OperationInfo;
}

describe('the retry policy', () => {
  const policy = new IdempotentRetryPolicy();
  const rethrow = policy.rethrowResult();
  const retryElsewhere = { decision: policy.retryResult(localQuorum, false).decision, useCurrentHost: false };

  it('sends a timed-out upsert or batch once more, through the next coordinator, at the same level', () => {
    for (const writeType of ['SIMPLE', 'UNLOGGED_BATCH', 'BATCH']) {
      const decision = policy.onWriteTimeout(attempt(0), localQuorum, 1, 2, writeType);
      expect(decision).toMatchObject({ ...retryElsewhere, consistency: localQuorum });
    }
  });

  it('gives up after that one retry', () => {
    expect(policy.onWriteTimeout(attempt(1), localQuorum, 1, 2, 'UNLOGGED_BATCH')).toEqual(rethrow);
    expect(policy.onReadTimeout(attempt(1), localQuorum, 1, 2, true)).toEqual(rethrow);
  });

  it('never resends a lightweight transaction or a statement marked not idempotent after a timeout', () => {
    expect(policy.onWriteTimeout(attempt(0), localQuorum, 1, 2, 'CAS')).toEqual(rethrow);
    expect(policy.onWriteTimeout(attempt(0, false), localQuorum, 1, 2, 'SIMPLE')).toEqual(rethrow);
    expect(policy.onReadTimeout(attempt(0, false), localQuorum, 1, 2, true)).toEqual(rethrow);
  });

  it('reads once more through the next coordinator after a read timeout, whatever the replicas answered', () => {
    for (const [received, dataPresent] of [
      [1, true],
      [1, false],
      [2, true],
      [0, false],
    ] as const) {
      const decision = policy.onReadTimeout(attempt(0), localQuorum, received, 2, dataPresent);
      expect(decision).toMatchObject(retryElsewhere);
    }
  });

  it('after a client timeout or a socket error tries the next host once, where the driver’s own tries every host: no write outlives its hold', () => {
    const silent = new cassandra.errors.OperationTimedOutError(
      'The host 127.0.0.3:9042 did not reply before timeout 3000 ms',
      '127.0.0.3:9042',
    );
    expect(policy.onRequestError(attempt(0), localQuorum, silent)).toMatchObject(retryElsewhere);
    expect(policy.onRequestError(attempt(1), localQuorum, silent)).toEqual(rethrow);
    expect(policy.onRequestError(attempt(2), localQuorum, silent)).toEqual(rethrow);
    expect(policy.onRequestError(attempt(0, false), localQuorum, silent)).toEqual(rethrow);
    expect(STATEMENT_ATTEMPTS).toBe(2);
  });

  it('keeps the driver’s answer to an unavailable coordinator: the next host, once', () => {
    expect(policy.onUnavailable(attempt(0), localQuorum, 2, false)).toMatchObject(retryElsewhere);
    expect(policy.onUnavailable(attempt(1), localQuorum, 2, false)).toEqual(rethrow);
  });
});

describe('a storage failure', () => {
  it('is told on one line per host tried, with no stack, for the log', () => {
    const { errors, types } = cassandra;
    const timeout = new errors.ResponseError(
      types.responseErrorCodes.writeTimeout,
      'Server timeout during write query at consistency LOCAL_QUORUM (1 peer(s) acknowledged the write over 2 required)',
    );
    const silent = new errors.OperationTimedOutError(
      'The host 127.0.0.3:9042 did not reply before timeout 3000 ms',
      '127.0.0.3:9042',
    );
    const failure = classifyDriverError(
      new errors.NoHostAvailableError({ '127.0.0.1:9042': timeout, '127.0.0.3:9042': silent }),
      'write batch',
    );
    expect(failure).toBeInstanceOf(StorageUnavailableError);
    expect((failure as StorageUnavailableError).message).toBe('Cassandra is unavailable (write batch)');
    expect((failure as StorageUnavailableError).detail).toBe(
      'no host answered (127.0.0.1:9042: ResponseError: Server timeout during write query at consistency LOCAL_QUORUM (1 peer(s) acknowledged the write over 2 required); ' +
        '127.0.0.3:9042: OperationTimedOutError: The host 127.0.0.3:9042 did not reply before timeout 3000 ms)',
    );
  });

  it('that is not transient is left as it is', () => {
    const syntax = new cassandra.errors.ResponseError(
      cassandra.types.responseErrorCodes.syntaxError,
      'line 1:0 no viable alternative',
    );
    expect(classifyDriverError(syntax, 'write batch')).toBe(syntax);
  });
});
