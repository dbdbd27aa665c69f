/**
 * Multi-language protocol codec (docs/daemon-protocol.md, 'Messages'): byte-exact daemon messages, Jackson-like decoding of child
 * lines (blank, garbage, unknown properties, scalar coercion, lossless big sequence numbers), and line framing.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeChildLine,
  decodeDaemonLine,
  encodeChildMessage,
  encodeDaemonMessage,
  recordToMessage,
} from '../../src/multilang/index.js';
import { createUserRecord } from '../../src/retrieval/user-record.js';
import { LineSplitter } from '../../src/common/lines.js';

describe('encodeDaemonMessage', () => {
  test('processRecords matches the documented example byte for byte', () => {
    const record = createUserRecord({
      data: Buffer.from('meow'),
      partitionKey: 'cat',
      sequenceNumber: '456',
      approximateArrivalTimestamp: new Date(1476889707000),
    });
    const line = encodeDaemonMessage({ action: 'processRecords', records: [recordToMessage(record)], millisBehindLatest: 1000 });
    assert.equal(
      line,
      '{"action":"processRecords","records":[{"action":"record","data":"bWVvdw==","partitionKey":"cat","sequenceNumber":"456","approximateArrivalTimestamp":1476889707000,"subSequenceNumber":0}],"millisBehindLatest":1000}',
    );
  });

  test('empty payload is "" and an empty batch is []; absent millisBehindLatest is null', () => {
    const record = createUserRecord({ data: new Uint8Array(0), partitionKey: 'k', sequenceNumber: '1', subSequenceNumber: 3 });
    assert.deepEqual(recordToMessage(record), {
      action: 'record',
      data: '',
      partitionKey: 'k',
      sequenceNumber: '1',
      approximateArrivalTimestamp: 0,
      subSequenceNumber: 3,
    });
    assert.equal(encodeDaemonMessage({ action: 'processRecords', records: [] }), '{"action":"processRecords","records":[],"millisBehindLatest":null}');
  });

  test('terminal actions are exactly their action', () => {
    assert.equal(encodeDaemonMessage({ action: 'leaseLost' }), '{"action":"leaseLost"}');
    assert.equal(encodeDaemonMessage({ action: 'shardEnded' }), '{"action":"shardEnded"}');
    assert.equal(encodeDaemonMessage({ action: 'shutdownRequested' }), '{"action":"shutdownRequested"}');
  });

  test('initialize and checkpoint responses carry every key, null when absent', () => {
    assert.equal(
      encodeDaemonMessage({ action: 'initialize', shardId: 'shardId-000000000001', sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 }),
      '{"action":"initialize","shardId":"shardId-000000000001","sequenceNumber":"TRIM_HORIZON","subSequenceNumber":0}',
    );
    assert.equal(
      encodeDaemonMessage({ action: 'initialize', shardId: 's' }),
      '{"action":"initialize","shardId":"s","sequenceNumber":null,"subSequenceNumber":null}',
    );
    assert.equal(
      encodeDaemonMessage({ action: 'checkpoint', sequenceNumber: '123', subSequenceNumber: null, error: null }),
      '{"action":"checkpoint","sequenceNumber":"123","subSequenceNumber":null,"error":null}',
    );
    assert.equal(
      encodeDaemonMessage({ action: 'checkpoint', sequenceNumber: null, error: 'ShutdownException' }),
      '{"action":"checkpoint","sequenceNumber":null,"subSequenceNumber":null,"error":"ShutdownException"}',
    );
  });

  test('non-ASCII is escaped, so output is pure ASCII', () => {
    const line = encodeDaemonMessage({ action: 'initialize', shardId: 'é😀\n', sequenceNumber: 'LATEST', subSequenceNumber: 0 });
    assert.equal(line, '{"action":"initialize","shardId":"\\u00e9\\ud83d\\ude00\\n","sequenceNumber":"LATEST","subSequenceNumber":0}');
    assert.equal((JSON.parse(line) as { shardId: string }).shardId, 'é😀\n');
  });

  test('child messages use the kclpy/aws-kcl shapes', () => {
    assert.equal(encodeChildMessage({ action: 'status', responseFor: 'processRecords' }), '{"action":"status","responseFor":"processRecords"}');
    assert.equal(
      encodeChildMessage({ action: 'checkpoint', sequenceNumber: null, subSequenceNumber: null }),
      '{"action":"checkpoint","sequenceNumber":null,"subSequenceNumber":null}',
    );
  });
});

describe('decodeChildLine', () => {
  test('empty and whitespace-only lines are blank', () => {
    for (const line of ['', '   ', '\t ']) assert.deepEqual(decodeChildLine(line), { kind: 'blank' });
  });

  test('garbage: not JSON, null, array, scalar, no action, unknown action, unknown property', () => {
    const cases: Array<[string, RegExp]> = [
      ['hello world', /not JSON/],
      ['{"action":"status",', /not JSON/],
      ['null', /JSON null/],
      ['[{"action":"status","responseFor":"x"}]', /array/],
      ['42', /not a JSON object/],
      ['{"responseFor":"initialize"}', /no "action"/],
      ['{"action":"Status","responseFor":"initialize"}', /unknown action "Status"/],
      ['{"action":"status","responseFor":"initialize","extra":1}', /unknown property "extra"/],
      ['{"action":"checkpoint","sequenceNumber":"1","foo":null}', /unknown property "foo"/],
      ['{"action":"leaseLost","x":1}', /unknown property "x"/],
      ['{"action":"status","responseFor":{}}', /responseFor/],
      ['{"action":"checkpoint","sequenceNumber":"1","subSequenceNumber":"x"}', /subSequenceNumber/],
      ['{"action":"checkpoint","sequenceNumber":true}', /sequenceNumber/],
    ];
    for (const [line, reason] of cases) {
      const decoded = decodeChildLine(line);
      assert.equal(decoded.kind, 'garbage', line);
      if (decoded.kind === 'garbage') assert.match(decoded.reason, reason, line);
    }
  });

  test('status with and without responseFor; whitespace around JSON and key order do not matter', () => {
    assert.deepEqual(decodeChildLine(' {"responseFor": "initialize", "action": "status"} '), {
      kind: 'message',
      message: { action: 'status', responseFor: 'initialize' },
    });
    assert.deepEqual(decodeChildLine('{"action":"status"}'), { kind: 'message', message: { action: 'status', responseFor: undefined } });
    assert.deepEqual(decodeChildLine('{"action":"status","responseFor":null}'), {
      kind: 'message',
      message: { action: 'status', responseFor: undefined },
    });
  });

  test('checkpoint: string, huge number (lossless), null, absent; numeric-string sub-sequence; error tolerated', () => {
    const huge = '49590338271490256608559692538361571095921575989136588898';
    const cases: Array<[string, unknown]> = [
      ['{"action": "checkpoint", "sequenceNumber": "123", "subSequenceNumber": 4}', { sequenceNumber: '123', subSequenceNumber: 4, error: null }],
      [`{"action":"checkpoint","sequenceNumber":${huge}}`, { sequenceNumber: huge, subSequenceNumber: null, error: null }],
      ['{"action":"checkpoint","sequenceNumber":null,"subSequenceNumber":null}', { sequenceNumber: null, subSequenceNumber: null, error: null }],
      ['{"action":"checkpoint"}', { sequenceNumber: null, subSequenceNumber: null, error: null }],
      ['{"action":"checkpoint","sequenceNumber":"7","subSequenceNumber":"5"}', { sequenceNumber: '7', subSequenceNumber: 5, error: null }],
      ['{"action":"checkpoint","sequenceNumber":"7","error":"x"}', { sequenceNumber: '7', subSequenceNumber: null, error: 'x' }],
    ];
    for (const [line, expected] of cases) {
      assert.deepEqual(decodeChildLine(line), { kind: 'message', message: { action: 'checkpoint', ...(expected as object) } }, line);
    }
  });

  test('a string that looks like a sequence number or JSON is not altered', () => {
    const line = '{"action":"checkpoint","sequenceNumber":"49590338271490256608559692538361571095921575989136588898","error":"\\"sequenceNumber\\":12345678901234567890123 \\u00e9"}';
    assert.deepEqual(decodeChildLine(line), {
      kind: 'message',
      message: {
        action: 'checkpoint',
        sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
        subSequenceNumber: null,
        error: '"sequenceNumber":12345678901234567890123 é',
      },
    });
  });

  test('other valid actions are ignorable messages', () => {
    assert.deepEqual(decodeChildLine('{"action":"initialize","shardId":"s","sequenceNumber":"1","subSequenceNumber":0}'), {
      kind: 'message',
      message: { action: 'other', echoedAction: 'initialize' },
    });
    assert.deepEqual(decodeChildLine('{"action":"leaseLost"}'), { kind: 'message', message: { action: 'other', echoedAction: 'leaseLost' } });
  });
});

describe('decodeDaemonLine', () => {
  test('reads a processRecords batch and tolerates extra keys', () => {
    const decoded = decodeDaemonLine(
      '{"action":"processRecords","records":[{"action":"record","data":"bWVvdw==","partitionKey":"cat","sequenceNumber":"456","approximateArrivalTimestamp":1476889707000,"subSequenceNumber":0,"new":1}],"millisBehindLatest":1000,"future":true}',
    );
    assert.deepEqual(decoded, {
      kind: 'message',
      message: {
        action: 'processRecords',
        records: [{ action: 'record', data: 'bWVvdw==', partitionKey: 'cat', sequenceNumber: '456', approximateArrivalTimestamp: 1476889707000, subSequenceNumber: 0 }],
        millisBehindLatest: 1000,
      },
    });
    assert.equal(decodeDaemonLine('{"action":"nope"}').kind, 'garbage');
    assert.equal(decodeDaemonLine('').kind, 'blank');
  });

  test('processRecords read through JSON.parse decodes exactly as the lossless parser does', () => {
    const record = (fields: string) => `{"action":"record","data":"bWVvdw==","partitionKey":"k é \\u00e9 \\ud83d\\ude00",${fields}}`;
    const lines = [
      `{"action":"processRecords","records":[${record('"sequenceNumber":"456","approximateArrivalTimestamp":1476889707000,"subSequenceNumber":0')}],"millisBehindLatest":1000}`,
      `{"action":"processRecords","records":[${record('"sequenceNumber":"1","approximateArrivalTimestamp":-0,"subSequenceNumber":-0')}],"millisBehindLatest":-0}`,
      `{"action":"processRecords","records":[${record('"sequenceNumber":"1"')}],"millisBehindLatest":null}`,
      `{"action":"processRecords","records":[{"sequenceNumber":"2","data":null,"partitionKey":null,"approximateArrivalTimestamp":null,"subSequenceNumber":null}]}`,
      '{"action":"processRecords","records":[]}',
      // Each of these leaves the fast path: the lossless parser decides, whatever it decides.
      '{"action":"processRecords","records":[{"sequenceNumber":49590338271490256608559692538361571095921575989136588898}]}',
      '{"action":"processRecords","records":[{"sequenceNumber":"1","subSequenceNumber":"5"}]}',
      '{"action":"processRecords","records":[{"sequenceNumber":"1","approximateArrivalTimestamp":1.5}]}',
      '{"action":"processRecords","records":[{"sequenceNumber":"1","approximateArrivalTimestamp":"7"}]}',
      '{"action":"processRecords","records":[{"sequenceNumber":"1","data":5}]}',
      '{"action":"processRecords","records":[{"data":"x"}]}',
      '{"action":"processRecords","records":[null]}',
      '{"action":"processRecords","records":{}}',
      '{"action":"processRecords","records":[],"millisBehindLatest":"x"}',
      '{"action":"processRecords","records":[{"sequenceNumber":"1"}]',
    ];
    for (const line of lines) {
      // A space after the brace keeps a line off the fast path, which only takes the compact form daemons write.
      const lossless = decodeDaemonLine(`{ ${line.slice(1)}`);
      const decoded = decodeDaemonLine(line);
      // Garbage reasons name a position, which the added space shifts.
      if (lossless.kind === 'garbage') assert.equal(decoded.kind, 'garbage', line);
      else assert.deepEqual(decoded, lossless, line);
    }
    assert.equal(decodeDaemonLine(lines[5]!).kind, 'message');
    assert.equal(decodeDaemonLine(lines[10]!).kind, 'garbage');
  });
});

describe('LineSplitter', () => {
  test('splits on \\n, \\r\\n and a lone \\r, keeping empty lines', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push('a\nb\r\nc\rd\n\ne'), ['a', 'b', 'c', 'd', '']);
    assert.deepEqual(s.end(), ['e']);
  });

  test('a \\r at a chunk end is emitted at once and a \\n opening the next chunk is swallowed', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push('one\r'), ['one']);
    assert.deepEqual(s.push('\ntwo\r'), ['two']);
    assert.deepEqual(s.push('\r'), ['']);
    assert.deepEqual(s.push('three\n'), ['three']);
    assert.deepEqual(s.end(), []);
  });

  test('a \\r at a chunk end followed by an empty chunk, then \\n', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push(Buffer.from('x\r')), ['x']);
    assert.deepEqual(s.push(Buffer.alloc(0)), []);
    assert.deepEqual(s.push(Buffer.from('\ny\n')), ['y']);
  });

  test('a multi-byte UTF-8 character split across chunks', () => {
    const bytes = Buffer.from('{"k":"é😀"}\n', 'utf8');
    const s = new LineSplitter();
    const lines: string[] = [];
    for (const b of bytes) lines.push(...s.push(Uint8Array.of(b)));
    lines.push(...s.end());
    assert.deepEqual(lines, ['{"k":"é😀"}']);
  });

  test('a long line in many chunks, with a character split between two of them, and ASCII lines around it', () => {
    const long = `{"k":"${'a'.repeat(70_000)}é${'b'.repeat(70_000)}"}`;
    const bytes = Buffer.from(`first\n${long}\nlast\r\n`, 'utf8');
    const split = bytes.indexOf(Buffer.from('é')) + 1; // between the two bytes of é
    const chunks = [bytes.subarray(0, 1000), bytes.subarray(1000, split), bytes.subarray(split, split + 65_536), bytes.subarray(split + 65_536)];
    const s = new LineSplitter();
    const lines = chunks.flatMap((c) => s.push(c));
    assert.deepEqual(lines, ['first', long, 'last']);
    assert.deepEqual(s.end(), []);
  });

  test('many short lines in one chunk, mixed terminators', () => {
    const s = new LineSplitter();
    const text = Array.from({ length: 500 }, (_, i) => `line ${i}${i % 3 === 0 ? '\r\n' : i % 3 === 1 ? '\n' : '\r'}`).join('');
    assert.deepEqual(
      s.push(Buffer.from(text)),
      Array.from({ length: 500 }, (_, i) => `line ${i}`),
    );
  });

  test('an invalid UTF-8 byte becomes U+FFFD, and only in its own line', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push(Buffer.from([0x61, 0xff, 0x62, 0x0a, 0x63, 0x0a])), ['a\ufffdb', 'c']);
    assert.deepEqual(s.push(Buffer.from([0x64, 0xc3])), []);
    assert.deepEqual(s.end(), ['d\ufffd']);
  });

  test('end() flushes the last partial line and nothing when it is empty', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push('abc'), []);
    assert.deepEqual(s.push('def'), []);
    assert.deepEqual(s.end(), ['abcdef']);
    const t = new LineSplitter();
    assert.deepEqual(t.push('x\n'), ['x']);
    assert.deepEqual(t.end(), []);
  });
});
