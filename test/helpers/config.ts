/** Shared by the config tests: where the fixtures are, and what a good ConfigError looks like. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../src/common/errors.js';

/** A file under the repository root; tests run from dist/test/… (compiled) or test/… (source). */
export function repoFile(path: string): string {
  const candidates = ['../../', '../../../'].map((up) => fileURLToPath(new URL(up + path, import.meta.url)));
  const found = candidates.find((candidate) => existsSync(candidate));
  assert.ok(found, `${path} not found in ${candidates.join(', ')}`);
  return found;
}

export const fixturePath = (name: string): string => repoFile(`test/fixtures/${name}`);

/** Asserts a ConfigError for `key` whose message names the key, shows the offending value and says what is allowed. */
export function assertConfigError(fn: () => unknown, key: string, value: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.key, key);
    assert.ok(err.message.includes(key), `message should name ${key}: ${err.message}`);
    assert.ok(err.message.includes(value), `message should show ${value}: ${err.message}`);
    assert.ok(err.message.includes('expected'), `message should say what is allowed: ${err.message}`);
    return true;
  });
}
