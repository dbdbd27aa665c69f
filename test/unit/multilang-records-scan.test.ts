/**
 * The child's processRecords scanner (src/multilang/records-scan.ts) against the general path: every line it
 * accepts must decode exactly as the lossless parser has it, and the lines it cannot read must be left to the
 * paths that read them before. The general path is reached by a space after the opening brace, which neither
 * the scanner nor the JSON.parse path takes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeDaemonLine } from '../../src/multilang/codec.js';
import { processRecordsLine } from '../../src/multilang/records-line.js';
import { scanProcessRecords } from '../../src/multilang/records-scan.js';
import { createUserRecord } from '../../src/retrieval/user-record.js';

/** What the general path makes of the line. */
const general = (line: string) => decodeDaemonLine(`{ ${line.slice(1)}`);

function assertSameAsGeneral(line: string): void {
  const expected = general(line);
  const decoded = decodeDaemonLine(line);
  // Garbage reasons name a position, which the added space shifts.
  if (expected.kind === 'garbage') assert.equal(decoded.kind, 'garbage', line);
  else assert.deepEqual(decoded, expected, line);
}

/** A small deterministic generator, so a failure names a line that can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

describe('processRecords scanner', () => {
  test('a batch our daemon encodes is read by the scanner, field for field', () => {
    const keys = ['a', 'k é', '"quoted"', 'back\\slash', 'tab\tand\u0001control', '😀', 'lone \ud800', ''];
    const records = keys.map((partitionKey, i) =>
      createUserRecord({
        data: Buffer.from(`{"n":${i},"text":"${'x'.repeat(i * 37)}"}`),
        partitionKey,
        sequenceNumber: `4959${String(i).padStart(52, '0')}`,
        subSequenceNumber: i % 3,
        approximateArrivalTimestamp: new Date(1_476_889_707_000 + i),
      }),
    );
    const line = Buffer.concat([...processRecordsLine(records, 1234)]).toString('utf8').trimEnd();
    const scanned = scanProcessRecords(line);
    assert.ok(scanned, 'the scanner reads the line');
    assert.equal(scanned.millisBehindLatest, 1234);
    assert.deepEqual(
      scanned.records.map((r) => [Buffer.from(r.data ?? '', 'base64').toString('utf8'), r.partitionKey, r.sequenceNumber, r.subSequenceNumber, r.approximateArrivalTimestamp]),
      records.map((r) => [r.text(), r.partitionKey, r.sequenceNumber, r.subSequenceNumber, r.approximateArrivalTimestamp.getTime()]),
    );
    assertSameAsGeneral(line);
  });

  test('lines it cannot read go to the general path, which decides', () => {
    const lines = [
      '{"action":"processRecords","records":[{"sequenceNumber":"1","approximateArrivalTimestamp":01}]}',
      '{"action":"processRecords","records":[{"sequenceNumber":"1","approximateArrivalTimestamp":1e3}]}',
      '{"action":"processRecords","records":[{"sequenceNumber":"1","data":"a\u0001b"}]}',
      '{"action":"processRecords","records":[{"sequenceNumber":"1","flag":true}]}',
      '{"action":"processRecords","records":[{"sequenceNumber":"1","nested":{"a":1}}]}',
      '{"action":"processRecords","records":[{"sequenceNumber":"1","\\u0064ata":"eA=="}]}',
      '{"action":"processRecords","records":[{"sequenceNumber":"1","data":"unterminated}]}',
      '{"action":"processRecords","records":[{"sequenceNumber":"1","data":"bad \\x escape"}]}',
      '{"action":"processRecords","records":[{"sequenceNumber":"1"}],"action":"leaseLost"}',
      '{"action":"processRecords","records":[{"sequenceNumber":"1"}],"records":[]}',
      '{"action":"processRecords","records":[{"sequenceNumber":"1"}]}trailing',
      '{"action":"processRecords","records":[{"sequenceNumber":"1"},]}',
      '{"action":"processRecords","records":[{"sequenceNumber":"1"}] }',
      '{"action":"processRecords","records":[{"sequenceNumber":"1","subSequenceNumber":9007199254740993}]}',
    ];
    for (const line of lines) {
      assert.equal(scanProcessRecords(line), undefined, line);
      assertSameAsGeneral(line);
    }
  });

  test('random compact lines decode as the general path decodes them (2,000 lines, fixed seed)', () => {
    const next = random(20261202);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
    const strings = ['""', '"eA=="', '"k é"', '"\\"q\\""', '"a\\\\b"', '"\\u00e9\\ud83d\\ude00"', '"\\ud800"', '"\\n\\t"', '"😀"', '"123"'];
    const integers = ['0', '-0', '7', '-12', '1476889707000', '9007199254740991', '9007199254740992', '1.5', '1e3', '01', '-'];
    const scalars = [...strings, ...integers, 'null', 'true', '{}', '[]'];
    const field = (name: string) => `"${name}":${pick(scalars)}`;
    let scanned = 0;
    for (let n = 0; n < 2000; n++) {
      const records: string[] = [];
      const count = Math.floor(next() * 4);
      for (let r = 0; r < count; r++) {
        const fields: string[] = [];
        if (next() < 0.8) fields.push('"action":"record"');
        if (next() < 0.9) fields.push(next() < 0.8 ? `"sequenceNumber":"${Math.floor(next() * 1e6)}"` : field('sequenceNumber'));
        for (const name of ['data', 'partitionKey', 'approximateArrivalTimestamp', 'subSequenceNumber', 'extra']) {
          if (next() < 0.7) fields.push(next() < 0.6 && name !== 'extra' ? (name === 'data' || name === 'partitionKey' ? `"${name}":${pick(strings)}` : `"${name}":${pick(integers.slice(0, 6))}`) : field(name));
        }
        if (next() < 0.05) fields.push(field('data')); // a repeated key
        for (let i = fields.length - 1; i > 0; i--) {
          const j = Math.floor(next() * (i + 1));
          [fields[i], fields[j]] = [fields[j]!, fields[i]!];
        }
        records.push(`{${fields.join(',')}}`);
      }
      const tail = next() < 0.3 ? '' : `,"millisBehindLatest":${pick(['0', '-0', '1000', 'null', '"x"', '2.5'])}`;
      const line = `{"action":"processRecords","records":[${records.join(',')}]${tail}}`;
      // Lines the scanner leaves go where they went before it existed (JSON.parse, then the lossless parser).
      if (scanProcessRecords(line) === undefined) continue;
      scanned++;
      assertSameAsGeneral(line);
    }
    // The generator leans to readable lines, so both the scanner and the general path are exercised.
    assert.ok(scanned > 200 && scanned < 1800, `the scanner read ${scanned} of 2000 lines`);
  });
});
