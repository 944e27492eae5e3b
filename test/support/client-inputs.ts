/** What a careless or hostile client may send, for the "no input gets a 500" properties. */
import fc from 'fast-check';

/** Every status a client may see for its own input; anything else is a fault of ours. */
export const CLIENT_STATUSES = [200, 400, 404, 405, 413, 415, 422];

const fieldName = fc.constantFrom(
  'metric_id',
  'metric',
  'ts',
  'timestamp',
  'value',
  'batch',
  'metrics',
  'from',
  'to',
  'aggregation',
  'x',
);
const fieldValue = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom(
    'True',
    '',
    '[]',
    '{}',
    'null',
    '1e999',
    '-0',
    '2003-12-18 12:18:18',
    '2003-02-30 00:00:00',
    '1700000000',
    'sum',
    'avg',
  ),
  fc.json(),
  fc
    .array(
      fc.record({
        metric_id: fc.string(),
        ts: fc.oneof(fc.string(), fc.integer(), fc.double()),
        value: fc.oneof(fc.string(), fc.double(), fc.constant(null)),
      }),
      { maxLength: 5 },
    )
    .map((a) => JSON.stringify(a)),
);

/** Form or query fields, named as Meetr names them (or not), with values of every kind. */
export const clientFields = fc.dictionary(fieldName, fieldValue, { maxKeys: 6 });
