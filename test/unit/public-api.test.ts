/**
 * The package's entry points export exactly what a user is meant to use: a new runtime export (or a lost one)
 * is an API change and has to show up here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as main from '../../src/index.js';
import * as child from '../../src/child.js';

test('kcl-ts exports the worker, the config loader, the sentinels and the error classes, nothing internal', () => {
  assert.deepEqual(Object.keys(main).sort(), [
    'AT_TIMESTAMP',
    'ConfigError',
    'IllegalArgumentException',
    'InvalidStateException',
    'KclError',
    'KinesisClientLibDependencyException',
    'LATEST',
    'ProcessorFailedException',
    'SHARD_END',
    'ShutdownException',
    'TRIM_HORIZON',
    'ThrottlingException',
    'Worker',
    'compareSequenceNumbers',
    'loadPropertiesConfig',
  ]);
});

test('kcl-ts/child exports the child runner and the errors a processor catches', () => {
  assert.deepEqual(Object.keys(child).sort(), [
    'IllegalArgumentException',
    'InvalidStateException',
    'KclError',
    'KinesisClientLibDependencyException',
    'ShutdownException',
    'ThrottlingException',
    'runChildProcessor',
  ]);
  assert.equal(child.ShutdownException, main.ShutdownException, 'one class, whichever entry point it came from');
});

test('a Worker can be started, run, shut down, disposed (await using) and asked for progress', () => {
  const proto = main.Worker.prototype as unknown as Record<PropertyKey, unknown>;
  assert.equal(typeof proto[Symbol.asyncDispose], 'function');
  for (const name of ['start', 'run', 'shutdown', 'progress']) assert.equal(typeof proto[name], 'function', name);
});
