/**
 * KPL aggregation format (docs/retrieval.md, 'KPL aggregation'; docs/checkpoints.md, 'Sub-sequence numbers'): our aggregate/deaggregate round trip,
 * interop with the independent aws-kinesis-agg implementation in both directions, pass-through of plain and
 * corrupt records, hash-range filtering after resharding, and the exact effective hash key.
 *
 * Hand-built protobuf in these tests uses its own tiny writer below (not the one under test).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { KPL_MAGIC, deaggregate, effectiveHashKey } from '../../src/retrieval/kpl.js';
import { aggregate, aggregateInto, type AggregateInput } from '../../src/local/kpl-aggregate.js';
import type { KinesisClientRecord } from '../../src/processor/types.js';

// ---- aws-kinesis-agg, typed by hand (its .d.ts needs aws-sdk v2 / aws-lambda types) ----------------------------

interface AggV3UserRecord {
  PartitionKey: string;
  ExplicitPartitionKey?: string;
  SequenceNumber: string;
  SubSequenceNumber?: number;
  /** base64 */
  Data: string;
}
interface AggEncodedRecord {
  partitionKey: string;
  data: Buffer;
}
interface AggModule {
  deaggregateSync(
    record: { Data: Uint8Array; PartitionKey: string; SequenceNumber: string; ApproximateArrivalTimestamp?: Date },
    computeChecksums: boolean,
    cb: (err: Error | null | undefined, userRecords?: AggV3UserRecord[]) => void,
  ): void;
  RecordAggregator: new (onReady: (err: Error | null, encoded?: AggEncodedRecord) => void) => {
    aggregateRecords(records: { partitionKey: string; data: Buffer; explicitHashKey?: string }[], forceFlush: boolean): void;
  };
  aggregate(
    records: { partitionKey: string; data: Buffer; explicitHashKey?: string }[],
    handler: (encoded: AggEncodedRecord, done: (err?: Error) => void) => void,
    after: () => void,
    onError: (err: Error, data?: unknown) => void,
  ): void;
}
const agg = createRequire(import.meta.url)('aws-kinesis-agg') as AggModule;

// ---- helpers -----------------------------------------------------------------------------------------------------

const md5 = (b: Uint8Array): Buffer => createHash('md5').update(b).digest();
const SEQ = '49590338271490256608559692538361571095921575989136588898';
const ARRIVAL = new Date('2024-05-01T12:34:56.789Z');
const outer = (data: Uint8Array, extra: { explicitHashKey?: string; encryptionType?: string } = {}) => ({
  data,
  partitionKey: 'outer-pk',
  sequenceNumber: SEQ,
  approximateArrivalTimestamp: ARRIVAL,
  ...extra,
});

/** Test-local protobuf writer. */
function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 128) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}
const fVarint = (field: number, v: number): Buffer => Buffer.concat([varint(field * 8), varint(v)]);
const fBytes = (field: number, b: Uint8Array | string): Buffer => {
  const bytes = typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.from(b);
  return Buffer.concat([varint(field * 8 + 2), varint(bytes.length), bytes]);
};
const pbRecord = (pk: number, data: string, ehk?: number, ...extra: Buffer[]): Buffer =>
  Buffer.concat([fVarint(1, pk), ...(ehk === undefined ? [] : [fVarint(2, ehk)]), fBytes(3, data), ...extra]);
/** magic + protobuf + MD5 of the protobuf. */
const wrap = (proto: Buffer): Buffer => Buffer.concat([KPL_MAGIC, proto, md5(proto)]);

function assertPassedThrough(input: Buffer, r: ReturnType<typeof deaggregate>, outcome: 'plain' | 'corrupt'): void {
  assert.equal(r.outcome, outcome, r.reason);
  assert.equal(r.records.length, 1);
  const u = r.records[0]!;
  assert.ok(u.data.equals(input), 'data passed through unchanged');
  assert.equal(u.partitionKey, 'outer-pk');
  assert.equal(u.sequenceNumber, SEQ);
  assert.equal(u.subSequenceNumber, 0);
  assert.equal(u.aggregated, false);
  assert.equal(u.approximateArrivalTimestamp.getTime(), ARRIVAL.getTime());
  if (outcome === 'corrupt') assert.ok(r.reason && r.reason.length > 0, 'corrupt comes with a reason');
}

function assertSameUserRecords(got: readonly KinesisClientRecord[], want: readonly AggregateInput[]): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    assert.equal(g.partitionKey, w.partitionKey, `pk #${i}`);
    assert.equal(g.explicitHashKey, w.explicitHashKey, `ehk #${i}`);
    assert.ok(g.data.equals(Buffer.from(w.data)), `data #${i}`);
    assert.equal(g.subSequenceNumber, i);
    assert.equal(g.aggregated, true);
  }
}

/** Deterministic varied user records: repeated and non-ASCII keys, explicit hash keys on some, one empty payload. */
function makeRecords(n: number, dataSize = (i: number) => (i * 37) % 300): AggregateInput[] {
  const records: AggregateInput[] = [];
  for (let i = 0; i < n; i++) {
    const partitionKey = i % 3 === 0 ? `pk-${i % 41}` : i % 3 === 1 ? `ключ-€-🙂-${i % 13}` : `k${i}`;
    const r: AggregateInput = { partitionKey, data: Buffer.from(`#${i}:` + 'x'.repeat(dataSize(i)), 'utf8') };
    if (i % 7 === 0) r.explicitHashKey = i === 0 ? '0' : i === 7 ? ((1n << 128n) - 1n).toString() : (BigInt(i) * 10n ** 30n).toString();
    records.push(r);
  }
  records[Math.floor(n / 2)]!.data = Buffer.alloc(0);
  return records;
}

// ---- round trip --------------------------------------------------------------------------------------------------

describe('aggregate → deaggregate (ours both ways)', () => {
  test('1000 varied records come back exactly, sub-sequence 0..n-1, outer sequence/timestamp/encryption shared', () => {
    const input = makeRecords(1000);
    const buf = aggregate(input);
    assert.ok(buf.subarray(0, 4).equals(Buffer.from([0xf3, 0x89, 0x9a, 0xc2])));
    assert.ok(md5(buf.subarray(4, buf.length - 16)).equals(buf.subarray(buf.length - 16)), 'MD5 trailer of the protobuf');
    const r = deaggregate(outer(buf, { encryptionType: 'KMS', explicitHashKey: '999' }));
    assert.equal(r.outcome, 'aggregated');
    assert.equal(r.reason, undefined);
    assertSameUserRecords(r.records, input);
    for (const u of r.records) {
      assert.equal(u.sequenceNumber, SEQ);
      assert.equal(u.approximateArrivalTimestamp.getTime(), ARRIVAL.getTime());
      assert.equal(u.encryptionType, 'KMS');
    }
    // the outer explicit hash key is not inherited by user records without one
    assert.equal(r.records[1]!.explicitHashKey, undefined);
    assert.equal(r.records[500]!.data.length, 0);
    assert.equal(r.records[1]!.text(), '#1:' + 'x'.repeat(37));
  });

  test('partition and explicit hash keys are stored once each (tables deduplicated)', () => {
    const key = 'a-rather-long-partition-key-' + 'z'.repeat(200);
    const ehk = '123456789012345678901234567890123456';
    const input = Array.from({ length: 100 }, (_, i) => ({ partitionKey: key, explicitHashKey: ehk, data: Buffer.from([i]) }));
    const buf = aggregate(input);
    const occurrences = (needle: string): number => {
      let count = 0;
      for (let at = buf.indexOf(needle); at !== -1; at = buf.indexOf(needle, at + 1)) count++;
      return count;
    };
    assert.equal(occurrences(key), 1);
    assert.equal(occurrences(ehk), 1);
    assert.ok(buf.length < 4 + 16 + 260 + 40 + 100 * 10, `size ${buf.length}`); // 9 bytes per record; ~27 kB if not deduplicated
    assertSameUserRecords(deaggregate(outer(buf)).records, input);
  });

  test('aggregateInto: every aggregate ≤ maxBytes, splits only when needed, each restarts its tables and sub-sequences', () => {
    const input = makeRecords(3000, (i) => 200 + ((i * 131) % 900));
    const max = 1_000_000;
    const parts = aggregateInto(input, max);
    assert.ok(parts.length >= 2, `${parts.length} aggregates`);
    let next = 0;
    for (const part of parts) {
      assert.ok(part.length <= max, `aggregate of ${part.length} bytes`);
      const r = deaggregate(outer(part));
      assert.equal(r.outcome, 'aggregated');
      const chunk = input.slice(next, next + r.records.length);
      assertSameUserRecords(r.records, chunk); // sub-sequence restarts at 0 in each
      assert.ok(aggregate(chunk).equals(part), 'same bytes as aggregate() of that chunk (a fresh table)');
      if (next + chunk.length < input.length) {
        assert.ok(aggregate([...chunk, input[next + chunk.length]!]).length > max, 'split only when the next record does not fit');
      }
      next += chunk.length;
    }
    assert.equal(next, input.length);
  });

  test('aggregateInto: small limits, exact fit, too-large record and empty input', () => {
    const input = [0, 1, 2, 3, 4].map((i) => ({ partitionKey: `p${i}`, data: Buffer.alloc(50, i) }));
    const one = aggregate([input[0]!]).length;
    assert.deepEqual(aggregateInto(input, one).map((b) => deaggregate(outer(b)).records.length), [1, 1, 1, 1, 1]);
    const all = aggregate(input);
    assert.equal(aggregateInto(input, all.length).length, 1);
    assert.equal(aggregateInto(input, all.length - 1).length, 2);
    assert.throws(() => aggregateInto(input, one - 1), RangeError);
    assert.deepEqual(aggregateInto([]), []);
    assert.throws(() => aggregate([]), RangeError);
    assert.throws(() => aggregate([{ partitionKey: 'a', data: Buffer.alloc(1), explicitHashKey: '12x' }]), RangeError);
    assert.throws(() => aggregate([{ partitionKey: 'a', data: Buffer.alloc(1), explicitHashKey: (1n << 128n).toString() }]), RangeError);
  });
});

// ---- interop with aws-kinesis-agg ----------------------------------------------------------------------------------

describe('interop with aws-kinesis-agg 4.2.8', () => {
  test('aggregates built by its RecordAggregator (several, 1 MiB limit) are de-aggregated exactly by ours', () => {
    const input = makeRecords(3000, (i) => 300 + ((i * 97) % 800)).map((r) =>
      r.explicitHashKey === undefined
        ? { partitionKey: r.partitionKey, data: Buffer.from(r.data) }
        : { partitionKey: r.partitionKey, data: Buffer.from(r.data), explicitHashKey: r.explicitHashKey },
    );
    input[10]!.data = Buffer.alloc(0);
    const encoded: AggEncodedRecord[] = [];
    new agg.RecordAggregator((err, enc) => {
      if (err) throw err;
      encoded.push(enc!);
    }).aggregateRecords(input, true);
    assert.ok(encoded.length >= 2, `${encoded.length} aggregates`);
    const got: KinesisClientRecord[] = [];
    for (const enc of encoded) {
      const r = deaggregate(outer(enc.data));
      assert.equal(r.outcome, 'aggregated', r.reason);
      r.records.forEach((u, i) => assert.equal(u.subSequenceNumber, i));
      got.push(...r.records);
    }
    assert.equal(got.length, input.length);
    got.forEach((u, i) => {
      assert.equal(u.partitionKey, input[i]!.partitionKey);
      assert.equal(u.explicitHashKey, input[i]!.explicitHashKey);
      assert.ok(u.data.equals(input[i]!.data), `data #${i}`);
    });
  });

  test('an aggregate built by its aggregate() API is de-aggregated exactly by ours', async () => {
    const input = [
      { partitionKey: 'a', data: Buffer.from('one') },
      { partitionKey: 'ü-ß', data: randomBytes(100), explicitHashKey: '170141183460469231731687303715884105728' },
      { partitionKey: 'a', data: Buffer.from('three') },
    ];
    const encoded: AggEncodedRecord[] = [];
    await new Promise<void>((resolve, reject) =>
      agg.aggregate(input, (enc, done) => (encoded.push(enc), done()), resolve, (err) => reject(err)),
    );
    assert.equal(encoded.length, 1);
    const r = deaggregate(outer(encoded[0]!.data));
    assert.equal(r.outcome, 'aggregated');
    assertSameUserRecords(r.records, input);
  });

  test('aggregates built by ours are de-aggregated exactly by its deaggregateSync (checksums on)', () => {
    const input = makeRecords(1000);
    const buf = aggregate(input);
    let got: AggV3UserRecord[] | undefined;
    agg.deaggregateSync({ Data: buf, PartitionKey: 'outer-pk', SequenceNumber: SEQ, ApproximateArrivalTimestamp: ARRIVAL }, true, (err, recs) => {
      assert.ifError(err);
      got = recs;
    });
    assert.ok(got);
    assert.equal(got.length, input.length);
    // aws-kinesis-agg quirk: a record without explicit_hash_key_index reads the uint64 default 0 and reports
    // explicit_hash_key_table[0] (the first explicit hash key used, here input[0]'s).
    const firstEhk = input.find((r) => r.explicitHashKey !== undefined)!.explicitHashKey;
    got.forEach((u, i) => {
      const w = input[i]!;
      assert.equal(u.PartitionKey, w.partitionKey);
      assert.equal(u.ExplicitPartitionKey, w.explicitHashKey ?? firstEhk);
      assert.equal(u.SequenceNumber, SEQ);
      assert.equal(u.SubSequenceNumber, i);
      assert.ok(Buffer.from(u.Data, 'base64').equals(Buffer.from(w.data)), `data #${i}`);
    });
  });

  test('ours without explicit hash keys → its deaggregateSync reports none', () => {
    const input = [{ partitionKey: 'x', data: Buffer.from('1') }, { partitionKey: 'y', data: Buffer.alloc(0) }];
    let got: AggV3UserRecord[] | undefined;
    agg.deaggregateSync({ Data: aggregate(input), PartitionKey: 'o', SequenceNumber: '7' }, true, (err, recs) => {
      assert.ifError(err);
      got = recs;
    });
    assert.deepEqual(
      got!.map((u) => [u.PartitionKey, u.ExplicitPartitionKey, u.SubSequenceNumber, u.Data]),
      [
        ['x', undefined, 0, Buffer.from('1').toString('base64')],
        ['y', undefined, 1, ''],
      ],
    );
  });
});

// ---- plain and corrupt records -------------------------------------------------------------------------------------

describe('plain and corrupt records are passed through unchanged', () => {
  const valid = aggregate([
    { partitionKey: 'a', data: Buffer.from('alpha') },
    { partitionKey: 'b', data: Buffer.from('beta'), explicitHashKey: '42' },
  ]);

  test('a plain record: one record, sub-sequence 0, aggregated false, outer fields kept', () => {
    const data = Buffer.from('{"hello":"world"}');
    const r = deaggregate(outer(data, { explicitHashKey: '77', encryptionType: 'NONE' }));
    assertPassedThrough(data, r, 'plain');
    assert.equal(r.records[0]!.explicitHashKey, '77');
    assert.equal(r.records[0]!.encryptionType, 'NONE');
    assert.deepEqual(r.records[0]!.json(), { hello: 'world' });
    assertPassedThrough(Buffer.alloc(0), deaggregate(outer(Buffer.alloc(0))), 'plain');
    assertPassedThrough(KPL_MAGIC.subarray(0, 3), deaggregate(outer(KPL_MAGIC.subarray(0, 3))), 'plain');
  });

  test('a plain Uint8Array (not a Buffer) passes through with the same bytes', () => {
    const u8 = new Uint8Array([1, 2, 3, 4, 5, 6]).subarray(1, 5);
    assertPassedThrough(Buffer.from([2, 3, 4, 5]), deaggregate(outer(u8)), 'plain');
  });

  test('bad magic → plain', () => {
    const bad = Buffer.from(valid);
    bad[3] = 0xc3;
    assertPassedThrough(bad, deaggregate(outer(bad)), 'plain');
  });

  test('bad MD5 (one trailer byte flipped) → corrupt, passed through', () => {
    const bad = Buffer.from(valid);
    bad[bad.length - 1]! ^= 0x01;
    const r = deaggregate(outer(bad));
    assertPassedThrough(bad, r, 'corrupt');
    assert.match(r.reason!, /MD5/);
  });

  test('a flipped protobuf byte (MD5 no longer matching) → corrupt, passed through', () => {
    const bad = Buffer.from(valid);
    bad[10]! ^= 0x40;
    assertPassedThrough(bad, deaggregate(outer(bad)), 'corrupt');
  });

  test('truncated protobuf with a recomputed MD5 → corrupt (parse), passed through', () => {
    const proto = valid.subarray(4, valid.length - 16);
    for (const cut of [1, 3, 7]) {
      const bad = wrap(proto.subarray(0, proto.length - cut));
      const r = deaggregate(outer(bad));
      assertPassedThrough(bad, r, 'corrupt');
      assert.match(r.reason!, /parse/);
    }
  });

  test('magic followed by ≤ 16 bytes → corrupt (not an aggregate), passed through; 17+ bytes are checked', () => {
    // docs/retrieval.md, 'KPL aggregation': more than 16 bytes must follow the magic; we report the magic-but-too-short case as
    // 'corrupt' (it starts with the magic) and pass it through unchanged like every non-aggregate.
    for (const tail of [Buffer.alloc(0), Buffer.alloc(5), md5(Buffer.alloc(0))]) {
      const bad = Buffer.concat([KPL_MAGIC, tail]);
      const r = deaggregate(outer(bad));
      assertPassedThrough(bad, r, 'corrupt');
      assert.match(r.reason!, /only \d+ bytes/);
    }
    // 17 bytes: a 1-byte protobuf with its MD5; 0x0a alone is a truncated field → parse failure
    const oneByte = wrap(Buffer.from([0x0a]));
    assert.equal(oneByte.length, 21);
    assert.match(deaggregate(outer(oneByte)).reason!, /parse/);
  });

  test('index outside its table → corrupt, passed through', () => {
    const cases: [string, Buffer][] = [
      ['partition key index', Buffer.concat([fBytes(1, 'a'), fBytes(3, pbRecord(0, 'ok')), fBytes(3, pbRecord(1, 'bad'))])],
      ['explicit hash key index', Buffer.concat([fBytes(1, 'a'), fBytes(2, '5'), fBytes(3, pbRecord(0, 'bad', 1))])],
      ['explicit hash key index, empty table', Buffer.concat([fBytes(1, 'a'), fBytes(3, pbRecord(0, 'bad', 0))])],
      ['huge partition key index', Buffer.concat([fBytes(1, 'a'), fBytes(3, Buffer.concat([Buffer.from([0x08]), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), fBytes(3, 'x')]))])],
    ];
    for (const [name, proto] of cases) {
      const bad = wrap(proto);
      const r = deaggregate(outer(bad));
      assertPassedThrough(bad, r, 'corrupt');
      assert.match(r.reason!, /outside the table/, name);
    }
  });

  test('missing required fields, bad tags, bad varints, non-decimal explicit hash key → corrupt', () => {
    const cases: [string, Buffer][] = [
      ['record without data', Buffer.concat([fBytes(1, 'a'), fBytes(3, fVarint(1, 0))])],
      ['record without partition key index', Buffer.concat([fBytes(1, 'a'), fBytes(3, fBytes(3, 'x'))])],
      ['tag without key', Buffer.concat([fBytes(1, 'a'), fBytes(3, pbRecord(0, 'x', undefined, fBytes(4, fBytes(2, 'v'))))])],
      ['11-byte varint', Buffer.concat([fBytes(1, 'a'), Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])])],
      ['field number 0', Buffer.from([0x02, 0x00])],
      ['wire type 7', Buffer.from([0x0f])],
      ['length past the end', Buffer.concat([fBytes(1, 'a'), Buffer.from([0x1a, 0x40, 0x08, 0x00])])],
      ['non-decimal explicit hash key', Buffer.concat([fBytes(1, 'a'), fBytes(2, '0x10'), fBytes(3, pbRecord(0, 'x', 0))])],
    ];
    for (const [name, proto] of cases) {
      const bad = wrap(proto);
      const r = deaggregate(outer(bad));
      assert.equal(r.outcome, 'corrupt', name);
      assertPassedThrough(bad, r, 'corrupt');
    }
  });

  test('valid protobuf variations parse: tags ignored, unknown fields skipped, records before tables, last value wins', () => {
    const proto = Buffer.concat([
      fBytes(3, pbRecord(1, 'first', undefined, fBytes(4, Buffer.concat([fBytes(1, 'k'), fBytes(2, 'v')])))),
      fVarint(15, 12345), // unknown varint field
      fBytes(1, 'pk0'),
      Buffer.from([0x0d, 1, 2, 3, 4]), // field 1 with wire type 5: unknown, skipped
      fBytes(9, 'unknown bytes'),
      Buffer.from([0x63, 0x08, 0x01, 0x64]), // group 12 { field 1 varint } skipped
      fBytes(1, 'pk1'),
      fBytes(2, '7'),
      fBytes(3, Buffer.concat([fVarint(1, 0), fBytes(3, 'old'), fVarint(2, 0), fBytes(3, 'second'), fVarint(99, 1)])),
    ]);
    const r = deaggregate(outer(wrap(proto)));
    assert.equal(r.outcome, 'aggregated', r.reason);
    assert.deepEqual(
      r.records.map((u) => [u.partitionKey, u.explicitHashKey, u.text(), u.subSequenceNumber]),
      [
        ['pk1', undefined, 'first', 0],
        ['pk0', '7', 'second', 1],
      ],
    );
  });

  test('a valid aggregate with zero user records yields none (as the Java KCL does)', () => {
    const r = deaggregate(outer(wrap(Buffer.from([0x08, 0x00])))); // only an unknown-typed field: valid, empty
    assert.equal(r.outcome, 'aggregated');
    assert.deepEqual(r.records, []);
  });
});

// ---- hash-range filtering and effective hash key -------------------------------------------------------------------

describe('hash-range filtering after resharding', () => {
  const byEhk = (keys: string[]) => aggregate(keys.map((k, i) => ({ partitionKey: `p${i}`, explicitHashKey: k, data: Buffer.from(String(i)) })));

  test('all user records inside (boundaries inclusive) → kept', () => {
    const r = deaggregate(outer(byEhk(['100', '150', '200'])), { startingHashKey: '100', endingHashKey: '200' });
    assert.equal(r.outcome, 'aggregated');
    assert.deepEqual(r.records.map((u) => u.explicitHashKey), ['100', '150', '200']);
  });

  test('one user record outside (explicit hash key) → the whole aggregate is dropped', () => {
    for (const keys of [['100', '150', '201'], ['99', '150', '200'], ['150', '1000000000000000000000000000000000000', '150']]) {
      const r = deaggregate(outer(byEhk(keys)), { startingHashKey: '100', endingHashKey: '200' });
      assert.equal(r.outcome, 'out-of-range', keys.join());
      assert.deepEqual(r.records, []);
      assert.ok(r.reason);
    }
  });

  test('by partition key MD5: range [min, max] keeps, [min+1, max] or [min, max-1] drops', () => {
    const keys = ['alpha', 'beta', 'gamma', 'δέλτα'];
    const hashes = keys.map((k) => effectiveHashKey(k));
    const min = hashes.reduce((a, b) => (b < a ? b : a));
    const max = hashes.reduce((a, b) => (b > a ? b : a));
    const buf = aggregate(keys.map((k) => ({ partitionKey: k, data: Buffer.from(k) })));
    const range = (a: bigint, b: bigint) => ({ startingHashKey: a.toString(), endingHashKey: b.toString() });
    assert.equal(deaggregate(outer(buf), range(min, max)).records.length, 4);
    assert.equal(deaggregate(outer(buf), range(min + 1n, max)).outcome, 'out-of-range');
    assert.equal(deaggregate(outer(buf), range(min, max - 1n)).outcome, 'out-of-range');
    assert.equal(deaggregate(outer(buf), range(0n, (1n << 128n) - 1n)).records.length, 4);
  });

  test('plain and corrupt records are never filtered', () => {
    const range = { startingHashKey: '0', endingHashKey: '0' };
    assert.equal(deaggregate(outer(Buffer.from('plain')), range).outcome, 'plain');
    const bad = Buffer.from(byEhk(['5']));
    bad[bad.length - 1]! ^= 0xff;
    assert.equal(deaggregate(outer(bad), range).outcome, 'corrupt');
  });

  test('effectiveHashKey = MD5(UTF-8 partition key) as unsigned 128-bit big-endian, or the explicit hash key', () => {
    for (const key of ['hello', 'ключ-€-🙂', 'a'.repeat(256)]) {
      const digest = createHash('md5').update(Buffer.from(key, 'utf8')).digest();
      const expected = [...digest].reduce((acc, b) => acc * 256n + BigInt(b), 0n);
      assert.equal(effectiveHashKey(key), expected, key);
    }
    assert.equal(effectiveHashKey(''), 0xd41d8cd98f00b204e9800998ecf8427en); // MD5("")
    assert.equal(effectiveHashKey('whatever', '340282366920938463463374607431768211455'), (1n << 128n) - 1n);
    assert.equal(effectiveHashKey('whatever', '0'), 0n);
    assert.throws(() => effectiveHashKey('x', '-1'), RangeError);
    assert.throws(() => effectiveHashKey('x', ''), RangeError);
  });
});

describe('sub-sequence numbers', () => {
  test('continue 0..n-1 within one Kinesis record and share its sequence number', () => {
    const input = Array.from({ length: 5 }, (_, i) => ({ partitionKey: 'same', data: Buffer.from(`r${i}`) }));
    const r = deaggregate({ data: aggregate(input), partitionKey: 'o', sequenceNumber: '12345678901234567890123' });
    assert.deepEqual(
      r.records.map((u) => [u.sequenceNumber, u.subSequenceNumber, u.aggregated, u.text()]),
      input.map((_, i) => ['12345678901234567890123', i, true, `r${i}`]),
    );
    // without an arrival timestamp, the record gets createUserRecord's default for every user record
    assert.ok(r.records.every((u) => u.approximateArrivalTimestamp.getTime() === 0));
  });
});
