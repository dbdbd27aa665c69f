/**
 * The `.properties` reader against java.util.Properties.load semantics (docs/daemon-protocol.md, 'Properties file'),
 * one rule at a time, plus the UTF-8 / Latin-1 file decoding.
 */

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseProperties, readPropertiesFile, decodePropertiesBytes } from '../../src/config/properties.js';
import { ConfigError } from '../../src/common/errors.js';

const entries = (text: string): [string, string][] => [...parseProperties(text)];

describe('separators', () => {
  test('= separates key and value, surrounding whitespace skipped', () => {
    assert.deepEqual(entries('key = value'), [['key', 'value']]);
    assert.deepEqual(entries('key=value'), [['key', 'value']]);
  });

  test(': separates key and value', () => {
    assert.deepEqual(entries('key:value'), [['key', 'value']]);
    assert.deepEqual(entries('key : value'), [['key', 'value']]);
  });

  test('whitespace alone separates key and value (space, tab, form feed)', () => {
    assert.deepEqual(entries('key value'), [['key', 'value']]);
    assert.deepEqual(entries('key\tvalue'), [['key', 'value']]);
    assert.deepEqual(entries('key\fvalue'), [['key', 'value']]);
    assert.deepEqual(entries('key     value'), [['key', 'value']]);
  });

  test('only one = or : is consumed; a second one is value text', () => {
    assert.deepEqual(entries('a==b'), [['a', '=b']]);
    assert.deepEqual(entries('a = = b'), [['a', '= b']]);
    assert.deepEqual(entries('a := b'), [['a', '= b']]);
    assert.deepEqual(entries('a : : b'), [['a', ': b']]);
  });

  test('separators after the first are kept in the value', () => {
    assert.deepEqual(entries('url = http://host:4567/x=y'), [['url', 'http://host:4567/x=y']]);
  });

  test('escaped separators belong to the key', () => {
    assert.deepEqual(entries('a\\=b = c'), [['a=b', 'c']]);
    assert.deepEqual(entries('a\\:b:c'), [['a:b', 'c']]);
    assert.deepEqual(entries('a\\ b c'), [['a b', 'c']]);
    assert.deepEqual(entries('a\\\\=b'), [['a\\', 'b']]);
  });

  test('a key alone has the empty value, whatever follows it', () => {
    assert.deepEqual(entries('key'), [['key', '']]);
    assert.deepEqual(entries('key   '), [['key', '']]);
    assert.deepEqual(entries('key ='), [['key', '']]);
    assert.deepEqual(entries('key:   '), [['key', '']]);
  });

  test('an empty key is possible', () => {
    assert.deepEqual(entries('= value'), [['', 'value']]);
  });
});

describe('values', () => {
  test('trailing whitespace of a value is kept', () => {
    assert.deepEqual(entries('key = value  \t'), [['key', 'value  \t']]);
  });

  test('quotes have no meaning', () => {
    assert.deepEqual(entries('workerId = "w"'), [['workerId', '"w"']]);
  });

  test('inner whitespace is kept', () => {
    assert.deepEqual(entries('key = a  b'), [['key', 'a  b']]);
  });

  test('last duplicate wins, position of the first kept', () => {
    assert.deepEqual(entries('a = 1\nb = 2\na = 3'), [['a', '3'], ['b', '2']]);
  });
});

describe('comments and blank lines', () => {
  test('# and ! start comment lines', () => {
    assert.deepEqual(entries('# c1\n! c2\nkey = v'), [['key', 'v']]);
  });

  test('comments may be indented', () => {
    assert.deepEqual(entries('   # c1\n\t! c2\nkey = v'), [['key', 'v']]);
  });

  test('no inline comments', () => {
    assert.deepEqual(entries('k = v # x'), [['k', 'v # x']]);
    assert.deepEqual(entries('k = v ! x'), [['k', 'v ! x']]);
  });

  test('# or ! inside a key is key text', () => {
    assert.deepEqual(entries('a#b = 1\nc!d = 2'), [['a#b', '1'], ['c!d', '2']]);
  });

  test('blank and whitespace-only lines are ignored', () => {
    assert.deepEqual(entries('\n   \n\t\f\nkey = v\n\n'), [['key', 'v']]);
  });

  test('a comment line ending in a backslash does not continue', () => {
    assert.deepEqual(entries('# comment \\\nkey = v'), [['key', 'v']]);
  });

  test('leading whitespace of a line is ignored', () => {
    assert.deepEqual(entries('   \t key = v'), [['key', 'v']]);
  });

  test('empty input gives an empty map', () => {
    assert.equal(parseProperties('').size, 0);
  });
});

describe('continuation lines', () => {
  test('an odd number of trailing backslashes continues; next line leading whitespace dropped', () => {
    assert.deepEqual(entries('key = a\\\n     b'), [['key', 'ab']]);
    assert.deepEqual(entries('key = a,\\\n    b,\\\n    c'), [['key', 'a,b,c']]);
  });

  test('three trailing backslashes: one escaped backslash, then a continuation', () => {
    assert.deepEqual(entries('key = a\\\\\\\n  b'), [['key', 'a\\b']]);
  });

  test('an even number of trailing backslashes does not continue', () => {
    assert.deepEqual(entries('key = a\\\\\nb = c'), [['key', 'a\\'], ['b', 'c']]);
  });

  test('a continuation line starting with # is value text, not a comment', () => {
    assert.deepEqual(entries('key = a\\\n  # b'), [['key', 'a# b']]);
    assert.deepEqual(entries('key = a\\\n!b'), [['key', 'a!b']]);
  });

  test('a continuation can extend the key', () => {
    assert.deepEqual(entries('ke\\\n  y = v'), [['key', 'v']]);
  });

  test('a blank continuation line ends the logical line', () => {
    assert.deepEqual(entries('key = a\\\n\nb = c'), [['key', 'a'], ['b', 'c']]);
  });

  test('a backslash at end of input is dropped', () => {
    assert.deepEqual(entries('key = a\\'), [['key', 'a']]);
  });

  test('the credential docs multi-line example', () => {
    const text = [
      'AWSCredentialsProvider = KclStsAssumeRoleCredentialsProvider|arn:aws:iam::123456789012:role/r|s\\',
      '    |endpointRegion=us-east-1',
    ].join('\n');
    assert.deepEqual(entries(text), [
      ['AWSCredentialsProvider', 'KclStsAssumeRoleCredentialsProvider|arn:aws:iam::123456789012:role/r|s|endpointRegion=us-east-1'],
    ]);
  });
});

describe('line terminators', () => {
  test('CRLF', () => {
    assert.deepEqual(entries('a = 1\r\nb = 2\r\n'), [['a', '1'], ['b', '2']]);
  });

  test('CR alone', () => {
    assert.deepEqual(entries('a = 1\rb = 2\r'), [['a', '1'], ['b', '2']]);
  });

  test('continuation across CRLF and CR', () => {
    assert.deepEqual(entries('a = x\\\r\n   y\r\nb = 2'), [['a', 'xy'], ['b', '2']]);
    assert.deepEqual(entries('a = x\\\r   y\rb = 2'), [['a', 'xy'], ['b', '2']]);
  });

  test('CR does not leak into values', () => {
    assert.equal(parseProperties('k = v\r\n').get('k'), 'v');
  });
});

describe('escapes', () => {
  test('\\t \\n \\r \\f', () => {
    assert.equal(parseProperties('k = a\\tb\\nc\\rd\\fe').get('k'), 'a\tb\nc\rd\fe');
  });

  test('\\uXXXX, upper and lower case hex', () => {
    assert.equal(parseProperties('k = caf\\u00e9 \\u00C9').get('k'), 'café É');
    assert.equal(parseProperties('k\\u0041 = v').get('kA'), 'v');
  });

  test('backslash + other character gives that character', () => {
    assert.equal(parseProperties('k = \\a\\\\\\=\\:\\ \\#\\!').get('k'), 'a\\=: #!');
  });

  test('an escaped leading space of a value is kept', () => {
    assert.equal(parseProperties('k = \\  v').get('k'), '  v');
  });

  test('malformed \\u: non-hex digit → ConfigError with the line number', () => {
    assert.throws(
      () => parseProperties('a = 1\n# c\nk = \\u00zz'),
      (err: unknown) => err instanceof ConfigError && /Malformed \\uxxxx encoding/.test(err.message) && /line 3/.test(err.message),
    );
  });

  test('malformed \\u: fewer than 4 digits', () => {
    assert.throws(
      () => parseProperties('k = \\u12'),
      (err: unknown) => err instanceof ConfigError && /Malformed \\uxxxx encoding/.test(err.message) && /line 1/.test(err.message),
    );
  });

  test('malformed \\u in a key', () => {
    assert.throws(() => parseProperties('\n\nk\\uXYZW = v'), (err: unknown) => err instanceof ConfigError && /line 3/.test(err.message));
  });

  test('line numbers count CRLF, CR and continuation lines', () => {
    assert.throws(() => parseProperties('a = 1\r\nb = x\\\r  y\nc = \\u1'), (err: unknown) => err instanceof ConfigError && /line 4/.test(err.message));
  });
});

describe('file decoding', () => {
  const withTempFile = async (bytes: Uint8Array, check: (path: string) => Promise<void>): Promise<void> => {
    const dir = await mkdtemp(join(tmpdir(), 'kcl-props-'));
    try {
      const path = join(dir, 'test.properties');
      await writeFile(path, bytes);
      await check(path);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  test('valid UTF-8 is decoded as UTF-8', async () => {
    await withTempFile(Buffer.from('name = café ☕\n', 'utf8'), async (path) => {
      assert.equal((await readPropertiesFile(path)).get('name'), 'café ☕');
    });
  });

  test('invalid UTF-8 falls back to ISO-8859-1 (Java)', async () => {
    // 0xE9 alone is "é" in Latin-1 and an invalid sequence in UTF-8.
    await withTempFile(Buffer.from([0x6e, 0x3d, 0x63, 0x61, 0x66, 0xe9, 0x0a]), async (path) => {
      assert.equal((await readPropertiesFile(path)).get('n'), 'café');
    });
  });

  test('a UTF-8 byte-order mark is not part of the first key', () => {
    assert.equal(decodePropertiesBytes(Buffer.from('\uFEFFk = v', 'utf8')), 'k = v');
  });

  test('a missing file is a ConfigError naming the path', async () => {
    const path = join(tmpdir(), 'kcl-does-not-exist', 'nope.properties');
    await assert.rejects(readPropertiesFile(path), (err: unknown) => err instanceof ConfigError && err.message.includes(path));
  });

  test('a parse error in a file names the path and the line', async () => {
    await withTempFile(Buffer.from('a = 1\nb = \\uQQQQ\n'), async (path) => {
      await assert.rejects(
        readPropertiesFile(path),
        (err: unknown) => err instanceof ConfigError && err.message.includes(path) && /line 2/.test(err.message),
      );
    });
  });
});
