/**
 * The daemon's own configuration (multilang/daemon-config.ts): its keys read from the same properties file as the
 * core's, validated with the same machinery, and bad values of both reported in one ConfigError.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/common/errors.js';
import { assertConfigError, fixturePath } from '../helpers/config.js';
import { parseProperties } from '../../src/config/properties.js';
import {
  buildDaemonConfig,
  buildDaemonSetup,
  daemonSetupFromProperties,
  loadDaemonProperties,
} from '../../src/multilang/daemon-config.js';

const MINIMAL = 'streamName = s\napplicationName = app\nexecutableName = python3 app.py\n';

function load(text: string) {
  const warnings: string[] = [];
  const setup = daemonSetupFromProperties(parseProperties(text), { onWarning: (m) => warnings.push(m) });
  return { ...setup, warnings };
}

describe('the daemon config', () => {
  test('the seed sample file: daemon keys read, no warnings', async () => {
    const warnings: string[] = [];
    const { config, daemon } = await loadDaemonProperties(fixturePath('sample.properties'), { onWarning: (m) => warnings.push(m) });
    assert.deepEqual(daemon, { executableName: 'sample_kclpy_app.py', processingLanguage: 'python/2.7' });
    assert.equal(config.streamName, 'kclpysample');
    assert.equal('executableName' in config, false);
    assert.deepEqual(warnings, []);
  });

  test('daemon keys are carried', () => {
    const { daemon } = load(MINIMAL + 'processingLanguage = python/3\ntimeoutInSeconds = 30\nshutdownGraceMillis = 5000');
    assert.deepEqual(daemon, { executableName: 'python3 app.py', processingLanguage: 'python/3', timeoutInSeconds: 30, shutdownGraceMillis: 5000 });
  });

  test('an unknown key warns once, not once per reader', () => {
    assert.deepEqual(load(MINIMAL + 'abc = 1').warnings, ['unknown key "abc" in properties file (ignored)']);
  });

  test('explicit values in code are kept; optional ones absent when not given', () => {
    assert.deepEqual(buildDaemonConfig({ executableName: 'x', timeoutInSeconds: 30, shutdownGraceMillis: 0 }), {
      executableName: 'x',
      timeoutInSeconds: 30,
      shutdownGraceMillis: 0,
    });
    assert.deepEqual(buildDaemonConfig({ executableName: 'x' }), { executableName: 'x' });
  });

  test('validates values given in code', () => {
    assertConfigError(() => buildDaemonConfig({ executableName: 'x', timeoutInSeconds: 0 }), 'timeoutInSeconds', '0');
    assertConfigError(() => buildDaemonConfig({ executableName: 'x', shutdownGraceMillis: -1 }), 'shutdownGraceMillis', '-1');
  });

  test('validates values in a file', () => {
    assertConfigError(() => load(MINIMAL + 'timeoutInSeconds = 0'), 'timeoutInSeconds', '"0"');
    assertConfigError(() => load(MINIMAL + 'shutdownGraceMillis = -1'), 'shutdownGraceMillis', '"-1"');
  });

  test('executableName is required by the daemon', () => {
    assert.throws(() => load('streamName = s\napplicationName = app'), {
      message: 'executableName: missing; expected the command that runs your record processor, e.g. "python3 app.py"',
    });
  });

  test('bad values of the core and of the daemon come in one error', () => {
    assert.throws(
      () => load('applicationName = app\nmaxRecords = 0\ntimeoutInSeconds = soon'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.problems.map((p) => p.key), ['maxRecords', 'streamName', 'timeoutInSeconds', 'executableName']);
        assert.equal(err.message.split('\n').length, 4);
        return true;
      },
    );
    assert.throws(
      () => buildDaemonSetup({ streamName: 's', applicationName: 'app', maxRecords: 0, executableName: ' ', timeoutInSeconds: -1 }),
      (err: unknown) => err instanceof ConfigError && err.problems.map((p) => p.key).join() === 'maxRecords,executableName,timeoutInSeconds',
    );
  });

  test('buildDaemonSetup splits a combined input', () => {
    const { config, daemon } = buildDaemonSetup({ streamName: 's', applicationName: 'app', executableName: 'x', timeoutInSeconds: 5 });
    assert.equal(config.streamName, 's');
    assert.equal('executableName' in config, false);
    assert.deepEqual(daemon, { executableName: 'x', timeoutInSeconds: 5 });
  });
});
