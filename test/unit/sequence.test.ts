/**
 * Sequence-number ordering and validation (docs/checkpoints.md, 'Sequence numbers' and 'Sentinels'): AT_TIMESTAMP < TRIM_HORIZON < LATEST < every real
 * sequence number (as big integers, then by sub-sequence) < SHARD_END; anything but digits or a sentinel is an
 * IllegalArgumentException.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  AT_TIMESTAMP,
  LATEST,
  SHARD_END,
  TRIM_HORIZON,
  compareSequenceNumbers,
  extendedSequenceNumber,
  formatSequenceNumber,
  isSentinel,
  isShardEnd,
  sentinel,
  type ExtendedSequenceNumber,
} from '../../src/checkpoint/sequence.js';
import { IllegalArgumentException } from '../../src/common/errors.js';

const esn = (sequenceNumber: string, subSequenceNumber = 0): ExtendedSequenceNumber => ({ sequenceNumber, subSequenceNumber });
const label = (e: ExtendedSequenceNumber): string => `${e.sequenceNumber}/${e.subSequenceNumber}`;

/** 2^64 and its neighbours: a Number or a 64-bit long would get these wrong. */
const TWO_64 = (2n ** 64n).toString(); // 18446744073709551616
const TWO_64_MINUS_1 = (2n ** 64n - 1n).toString();
const TWO_64_PLUS_1 = (2n ** 64n + 1n).toString();
/** A realistic Kinesis sequence number (56 digits). */
const KINESIS = '49590338271490256608559692538361571095921575989136588898';
const KINESIS_PLUS_1 = (BigInt(KINESIS) + 1n).toString();
const DIGITS_129 = '9'.repeat(129);

describe('compareSequenceNumbers: ordering', () => {
  // Strictly ascending; every pair (i, j) must compare as sign(i - j).
  const ascending: ExtendedSequenceNumber[] = [
    AT_TIMESTAMP,
    TRIM_HORIZON,
    LATEST,
    esn('0'),
    esn('0', 1),
    esn('1'),
    esn('9'),
    esn('10'), // numeric, not lexicographic: "9" < "10"
    esn('100'),
    esn(TWO_64_MINUS_1),
    esn(TWO_64),
    esn(TWO_64, 1),
    esn(TWO_64, 2),
    esn(TWO_64_PLUS_1),
    esn(KINESIS),
    esn(KINESIS, 7),
    esn(KINESIS_PLUS_1),
    esn(DIGITS_129),
    SHARD_END,
  ];

  test('every pair of the ascending table compares as its index order (-1 / 0 / 1 exactly)', () => {
    for (let i = 0; i < ascending.length; i++) {
      for (let j = 0; j < ascending.length; j++) {
        const expected = i < j ? -1 : i > j ? 1 : 0;
        const a = ascending[i]!;
        const b = ascending[j]!;
        assert.equal(compareSequenceNumbers(a, b), expected, `${label(a)} vs ${label(b)}`);
      }
    }
  });

  test('sorting a shuffled list yields the documented order', () => {
    const shuffled = [ascending[7]!, ascending[18]!, ascending[0]!, ascending[12]!, ascending[2]!, ascending[14]!, ascending[1]!, ascending[9]!,
      ascending[3]!, ascending[16]!, ascending[5]!, ascending[10]!, ascending[17]!, ascending[4]!, ascending[11]!, ascending[6]!,
      ascending[13]!, ascending[8]!, ascending[15]!];
    assert.equal(shuffled.length, ascending.length);
    assert.deepEqual([...shuffled].sort(compareSequenceNumbers).map(label), ascending.map(label));
  });

  test('sentinels: AT_TIMESTAMP < TRIM_HORIZON < LATEST < real numbers < SHARD_END', () => {
    assert.equal(compareSequenceNumbers(AT_TIMESTAMP, TRIM_HORIZON), -1);
    assert.equal(compareSequenceNumbers(TRIM_HORIZON, LATEST), -1);
    assert.equal(compareSequenceNumbers(LATEST, esn('0')), -1);
    assert.equal(compareSequenceNumbers(esn(DIGITS_129, 5), SHARD_END), -1);
    assert.equal(compareSequenceNumbers(SHARD_END, LATEST), 1);
    assert.equal(compareSequenceNumbers(SHARD_END, SHARD_END), 0);
    assert.equal(compareSequenceNumbers(sentinel('LATEST'), LATEST), 0);
  });

  test('numbers beyond 2^64 differing only in the last digit are ordered (BigInt, not float)', () => {
    // As doubles these two are equal: Number(KINESIS) === Number(KINESIS_PLUS_1).
    assert.equal(Number(KINESIS), Number(KINESIS_PLUS_1));
    assert.equal(compareSequenceNumbers(esn(KINESIS), esn(KINESIS_PLUS_1)), -1);
    assert.equal(compareSequenceNumbers(esn(KINESIS_PLUS_1), esn(KINESIS)), 1);
    assert.equal(compareSequenceNumbers(esn(TWO_64_PLUS_1), esn(TWO_64)), 1);
  });

  test('equal numbers are ordered by sub-sequence; a higher sub-sequence never beats a higher number', () => {
    assert.equal(compareSequenceNumbers(esn(KINESIS, 3), esn(KINESIS, 4)), -1);
    assert.equal(compareSequenceNumbers(esn(KINESIS, 4), esn(KINESIS, 3)), 1);
    assert.equal(compareSequenceNumbers(esn(KINESIS, 4), esn(KINESIS, 4)), 0);
    assert.equal(compareSequenceNumbers(esn(KINESIS, 1_000_000), esn(KINESIS_PLUS_1, 0)), -1);
  });

  test('leading zeros compare by value', () => {
    assert.equal(compareSequenceNumbers(esn('007'), esn('7')), 0);
    assert.equal(compareSequenceNumbers(esn('0010'), esn('9')), 1);
  });
});

describe('extendedSequenceNumber: validation', () => {
  const rejects: [string, unknown, unknown][] = [
    ['letters', 'abc', 0],
    ['digits then letters', '123abc', 0],
    ['empty string', '', 0],
    ['130 digits', '1'.repeat(130), 0],
    ['negative number', '-5', 0],
    ['decimal point', '1.5', 0],
    ['leading space', ' 123', 0],
    ['trailing newline', '123\n', 0],
    ['lower-case sentinel', 'shard_end', 0],
    ['exponent', '1e10', 0],
    ['negative sub-sequence', '123', -1],
    ['fractional sub-sequence', '123', 1.5],
    ['NaN sub-sequence', '123', Number.NaN],
    ['infinite sub-sequence', '123', Number.POSITIVE_INFINITY],
    ['negative sub-sequence on a sentinel', 'LATEST', -1],
    ['non-string sequence number', 123, 0],
  ];
  for (const [name, seq, sub] of rejects) {
    test(`rejects ${name} with IllegalArgumentException`, () => {
      assert.throws(
        () => extendedSequenceNumber(seq as string, sub as number),
        (err: unknown) => err instanceof IllegalArgumentException && err.name === 'IllegalArgumentException',
      );
    });
  }

  test('accepts 1 and 129 digits and keeps the sub-sequence', () => {
    assert.deepEqual(extendedSequenceNumber('0'), { sequenceNumber: '0', subSequenceNumber: 0 });
    assert.deepEqual(extendedSequenceNumber(DIGITS_129, 42), { sequenceNumber: DIGITS_129, subSequenceNumber: 42 });
    assert.deepEqual(extendedSequenceNumber(KINESIS, 3), { sequenceNumber: KINESIS, subSequenceNumber: 3 });
  });

  test('sentinels are accepted and their sub-sequence is forced to 0', () => {
    for (const name of ['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP', 'SHARD_END'] as const) {
      assert.deepEqual(extendedSequenceNumber(name, 9), { sequenceNumber: name, subSequenceNumber: 0 }, name);
      assert.deepEqual(extendedSequenceNumber(name), { sequenceNumber: name, subSequenceNumber: 0 }, name);
    }
  });

  test('isSentinel / isShardEnd / sentinel / formatSequenceNumber', () => {
    assert.equal(isSentinel('SHARD_END'), true);
    assert.equal(isSentinel('AT_TIMESTAMP'), true);
    assert.equal(isSentinel('123'), false);
    assert.equal(isSentinel('toString'), false); // not fooled by Object.prototype
    assert.equal(isShardEnd(SHARD_END), true);
    assert.equal(isShardEnd(esn('1')), false);
    assert.deepEqual(sentinel('TRIM_HORIZON'), { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 });
    assert.equal(formatSequenceNumber(esn('123', 4)), '123/4');
    assert.equal(formatSequenceNumber(esn('123')), '123');
    assert.equal(formatSequenceNumber(LATEST), 'LATEST');
  });

  test('the exported sentinel constants are frozen', () => {
    assert.equal(Object.isFrozen(SHARD_END), true);
    assert.equal(Object.isFrozen(TRIM_HORIZON), true);
  });
});
