/**
 * The byte-level processRecords encoder (src/multilang/records-line.ts) against the reference encoding
 * (encodeDaemonMessage of recordToMessage): the same bytes for every kind of partition key, payload size,
 * sub-sequence number and chunk size, what the child parses back, and chunks that stay bounded.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { encodeDaemonMessage, recordToMessage, type DaemonMessage } from '../../src/multilang/index.js';
import { jsonString } from '../../src/multilang/codec.js';
import { DEFAULT_CHUNK_BYTES, processRecordsLine } from '../../src/multilang/records-line.js';
import { createUserRecord } from '../../src/retrieval/user-record.js';
import type { KinesisClientRecord } from '../../src/processor/types.js';

function reference(records: readonly KinesisClientRecord[], millisBehindLatest?: number | null): string {
  return `${encodeDaemonMessage({ action: 'processRecords', records: records.map(recordToMessage), millisBehindLatest })}\n`;
}

/** Equal strings, without printing megabytes of line when they differ. */
function sameLine(actual: string, expected: string, what: string): void {
  if (actual === expected) return;
  let i = 0;
  while (actual[i] === expected[i]) i++;
  assert.fail(`${what}: lines differ at ${i} of ${actual.length}/${expected.length}: ${JSON.stringify(actual.slice(Math.max(0, i - 40), i + 40))} vs ${JSON.stringify(expected.slice(Math.max(0, i - 40), i + 40))}`);
}

function encoded(records: readonly KinesisClientRecord[], millisBehindLatest?: number | null, chunkBytes?: number): Buffer {
  return Buffer.concat([...processRecordsLine(records, millisBehindLatest, chunkBytes)]);
}

function record(partitionKey: string, data: Uint8Array, sequenceNumber = '49590338271490256608559692538361571095921575989136588898', subSequenceNumber = 0): KinesisClientRecord {
  return createUserRecord({ data, partitionKey, sequenceNumber, subSequenceNumber, approximateArrivalTimestamp: new Date(1476889707123) });
}

const UNICODE_KEYS = [
  '',
  'plain-key',
  'é',
  'Straße/东京/Ελλάδα',
  '😀 emoji pair',
  'lone \ud800 high and \udc00 low surrogate',
  'quote " backslash \\ slash /',
  'controls \u0000\u0001\u001f\t\n\r\b\f',
  'DEL \u007f and NEL \u0085',
  'line sep \u2028 para sep \u2029',
  '\uffff\ufeff',
  'k'.repeat(256),
];

describe('processRecordsLine', () => {
  test('matches the reference encoding byte for byte: unicode partition keys', () => {
    const records = UNICODE_KEYS.map((key, i) => record(key, Buffer.from(`{"i":${i}}`), String(1000 + i)));
    const line = encoded(records, 1000);
    assert.equal(line.toString('latin1'), reference(records, 1000));
    for (const byte of line) assert.ok(byte < 0x80, 'the line is pure ASCII');
    const parsed = JSON.parse(line.toString('utf8')) as { records: { partitionKey: string }[] };
    // Lone surrogates survive as escapes; JSON.parse gives back the same UTF-16 units.
    assert.deepEqual(
      parsed.records.map((r) => r.partitionKey),
      UNICODE_KEYS,
    );
  });

  test('the documented example, and what a child parses back', () => {
    const one = createUserRecord({ data: Buffer.from('meow'), partitionKey: 'cat', sequenceNumber: '456', approximateArrivalTimestamp: new Date(1476889707000) });
    assert.equal(
      encoded([one], 1000).toString('latin1'),
      '{"action":"processRecords","records":[{"action":"record","data":"bWVvdw==","partitionKey":"cat","sequenceNumber":"456","approximateArrivalTimestamp":1476889707000,"subSequenceNumber":0}],"millisBehindLatest":1000}\n',
    );
    const records = [record('a', Buffer.from('{"x":1}'), '1', 0), record('b', new Uint8Array(0), '2', 7)];
    assert.deepEqual(JSON.parse(encoded(records, 0).toString()), {
      action: 'processRecords',
      records: [
        { action: 'record', data: Buffer.from('{"x":1}').toString('base64'), partitionKey: 'a', sequenceNumber: '1', approximateArrivalTimestamp: 1476889707123, subSequenceNumber: 0 },
        { action: 'record', data: '', partitionKey: 'b', sequenceNumber: '2', approximateArrivalTimestamp: 1476889707123, subSequenceNumber: 7 },
      ],
      millisBehindLatest: 0,
    });
  });

  test('payloads of every base64 padding, empty, and larger than a chunk', () => {
    const sizes = [0, 1, 2, 3, 4, 5, 6, 1023, 1024, 1025, DEFAULT_CHUNK_BYTES + 1, 1024 * 1024];
    const records = sizes.map((n, i) => record(`pk-${i}`, randomBytes(n), String(i + 1)));
    for (const chunkBytes of [1, 100, 4096, DEFAULT_CHUNK_BYTES, undefined]) {
      const line = encoded(records, 5, chunkBytes);
      sameLine(line.toString('latin1'), reference(records, 5), `chunkBytes ${chunkBytes}`);
      const parsed = JSON.parse(line.toString('latin1')) as { records: { data: string }[] };
      parsed.records.forEach((r, i) => assert.ok(Buffer.from(r.data, 'base64').equals(records[i]!.data), `record ${i} data`));
    }
  });

  test('KPL user records keep their sub-sequence numbers; explicit data offsets are honoured', () => {
    const backing = Buffer.from('xxxxHELLOyyyy');
    const aggregateSeq = '49590338271490256608559692540925702759324208523137515618';
    const records = [0, 1, 2, 3, 500].map((sub) => createUserRecord({ data: backing.subarray(4, 9), partitionKey: `user-${sub}`, sequenceNumber: aggregateSeq, subSequenceNumber: sub, aggregated: true }));
    const line = encoded(records, null);
    assert.equal(line.toString('latin1'), reference(records, null));
    const parsed = JSON.parse(line.toString('latin1')) as { records: { sequenceNumber: string; subSequenceNumber: number; data: string }[]; millisBehindLatest: null };
    assert.deepEqual(
      parsed.records.map((r) => [r.sequenceNumber, r.subSequenceNumber, Buffer.from(r.data, 'base64').toString()]),
      [0, 1, 2, 3, 500].map((sub) => [aggregateSeq, sub, 'HELLO']),
    );
    assert.equal(parsed.millisBehindLatest, null);
  });

  test('an empty batch, and millisBehindLatest absent, null or a number', () => {
    for (const mbl of [undefined, null, 0, 86_400_000]) assert.equal(encoded([], mbl).toString('latin1'), reference([], mbl));
  });

  test('chunks are fresh buffers of at most chunkBytes, unless one record alone is larger', () => {
    const records = Array.from({ length: 300 }, (_, i) => record(`pk-${i % 7}`, randomBytes(700 + (i % 5)), String(i)));
    const chunkBytes = 16 * 1024;
    const chunks = [...processRecordsLine(records, 0, chunkBytes)];
    assert.ok(chunks.length > 10);
    for (const c of chunks) assert.ok(c.length <= chunkBytes, `chunk of ${c.length}`);
    assert.equal(new Set(chunks.map((c) => c.buffer)).size, chunks.length, 'no chunk shares memory with another');
    const big = record('big', randomBytes(3 * chunkBytes));
    const bigChunks = [...processRecordsLine([records[0]!, big, records[1]!], 0, chunkBytes)];
    sameLine(Buffer.concat(bigChunks).toString('latin1'), reference([records[0]!, big, records[1]!], 0), 'a record larger than a chunk');
  });

  test('chunks are encoded only when asked for', () => {
    const records = Array.from({ length: 100 }, (_, i) => record('k', randomBytes(1000), String(i)));
    const lazy = processRecordsLine(records, 0, 4096);
    const first = lazy.next();
    assert.equal(first.done, false);
    // Mutating a later record's data before asking for its chunk shows up in it: nothing was encoded ahead.
    records[99]!.data.fill(0x41);
    const rest = Buffer.concat([first.value as Buffer, ...lazy]);
    sameLine(rest.toString('latin1'), reference(records, 0), 'lazy chunks');
  });

  test('an invalid arrival time fails as in the reference encoder', () => {
    const bad = createUserRecord({ data: Buffer.from('x'), partitionKey: 'k', sequenceNumber: '1', approximateArrivalTimestamp: new Date(NaN) });
    assert.throws(() => reference([bad]), RangeError);
    assert.throws(() => encoded([bad]), RangeError);
  });
});

describe('jsonString and every daemon message', () => {
  /** The escaping the codec always used: JSON.stringify, then every non-ASCII unit as a lowercase \uXXXX. */
  const referenceString = (value: string) => JSON.stringify(value).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

  test('the no-escape shortcut gives the reference escaping for every ASCII character and the unicode keys', () => {
    for (let c = 0; c < 0x80; c++) {
      const s = `a${String.fromCharCode(c)}b`;
      assert.equal(jsonString(s), referenceString(s), `char ${c}`);
    }
    for (const key of UNICODE_KEYS) assert.equal(jsonString(key), referenceString(key), JSON.stringify(key));
    assert.equal(jsonString(null), 'null');
    assert.equal(jsonString(undefined), 'null');
  });

  test('every message type parses back to its fields, every key present', () => {
    const shardId = 'shardId-000000000001 é😀';
    const cases: [DaemonMessage, unknown][] = [
      [
        { action: 'initialize', shardId, sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
        { action: 'initialize', shardId, sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
      ],
      [{ action: 'initialize', shardId }, { action: 'initialize', shardId, sequenceNumber: null, subSequenceNumber: null }],
      [{ action: 'processRecords', records: [] }, { action: 'processRecords', records: [], millisBehindLatest: null }],
      [
        { action: 'checkpoint', sequenceNumber: '123', subSequenceNumber: 4, error: null },
        { action: 'checkpoint', sequenceNumber: '123', subSequenceNumber: 4, error: null },
      ],
      [{ action: 'checkpoint', error: 'ShutdownException' }, { action: 'checkpoint', sequenceNumber: null, subSequenceNumber: null, error: 'ShutdownException' }],
      [{ action: 'leaseLost' }, { action: 'leaseLost' }],
      [{ action: 'shardEnded' }, { action: 'shardEnded' }],
      [{ action: 'shutdownRequested' }, { action: 'shutdownRequested' }],
    ];
    for (const [message, expected] of cases) {
      const line = encodeDaemonMessage(message);
      assert.match(line, /^[\x20-\x7e]*$/, 'printable ASCII, no line break inside');
      assert.deepEqual(JSON.parse(line), expected, line);
    }
  });
});
