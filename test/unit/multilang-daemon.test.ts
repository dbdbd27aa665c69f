/**
 * How the daemon turns `executableName` into a program and arguments (as the Java daemon: spaces only, no
 * shell) and how it reports one that cannot be run.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkExecutable, splitExecutable } from '../../src/multilang/index.js';
import { ConfigError } from '../../src/common/errors.js';

describe('splitExecutable', () => {
  const cases: [string, string[]][] = [
    ['sample_kclpy_app.py', ['sample_kclpy_app.py']],
    ['node sample_kcl_app.js', ['node', 'sample_kcl_app.js']],
    ['python3   app.py  --flag', ['python3', 'app.py', '--flag']],
    ['node app.js   ', ['node', 'app.js']],
    ['python3 "my app.py"', ['python3', '"my', 'app.py"']], // no quoting, as in Java
    ['node\tapp.js', ['node\tapp.js']], // tabs are not separators
    [' node app.js', ['', 'node', 'app.js']], // a leading space gives an empty program, as in Java
  ];
  for (const [input, expected] of cases) {
    test(JSON.stringify(input), () => assert.deepEqual(splitExecutable(input), expected));
  }
});

describe('checkExecutable', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kcl-exe-'));
  const script = path.join(dir, 'app.sh');
  fs.writeFileSync(script, '#!/bin/sh\n', { mode: 0o755 });
  const notExecutable = path.join(dir, 'data.txt');
  fs.writeFileSync(notExecutable, 'x', { mode: 0o644 });

  test('a name without a slash is looked up on PATH', () => {
    assert.equal(checkExecutable('app.sh --x', '/', dir), script);
  });
  test('a name with a slash is relative to the working directory', () => {
    assert.equal(checkExecutable('./app.sh', dir, ''), script);
  });
  test('missing, not executable, empty: a ConfigError naming executableName', () => {
    for (const [value, pattern] of [
      ['nope-not-here', /executableName: "nope-not-here" was not found on PATH/],
      ['./data.txt', /executableName: "\.\/data\.txt" does not exist or is not executable/],
      ['', /executableName: missing/],
      [' app.sh', /names no program/],
    ] as const) {
      assert.throws(() => checkExecutable(value, dir, dir), (err: Error) => err instanceof ConfigError && pattern.test(err.message), value);
    }
  });
});
