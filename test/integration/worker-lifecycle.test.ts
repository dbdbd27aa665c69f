/**
 * The Worker's lifecycle API: run() settles when the worker has stopped (and rejects on a fatal error), the
 * signal option, `await using`, the read-only event stream, and client ownership (an injected client is the
 * caller's; the worker destroys only the ones it built).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DeleteTableCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { InvalidStateException } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/logger.js';
import { produceRecords } from '../../src/local/producer.js';
import { Worker } from '../../src/worker/worker.js';
import { workerInternals } from '../../src/worker/internals.js';
import { Recorder } from '../helpers/recording-processor.js';
import { createTestStream, SKIP_REASON, testEnv, uniqueName, waitFor, workerConfig } from '../helpers/env.js';

const env = testEnv();
after(() => env?.close());

describe('Worker lifecycle API (no emulators needed)', () => {
  const offline = { streamName: 'stream', applicationName: 'offline-app', kinesisEndpoint: 'http://127.0.0.1:9', dynamoDBEndpoint: 'http://127.0.0.1:9' };

  test('events is read-only: on/once/off, no emit', () => {
    const worker = new Worker({ config: offline, processorFactory: new Recorder().factory, logger: silentLogger });
    assert.deepEqual(Object.keys(worker.events).sort(), ['off', 'on', 'once']);
    assert.equal('emit' in worker.events, false);
    assert.equal(Object.isFrozen(worker.events), true);
    void worker.shutdown();
  });

  test('`await using` shuts the worker down at the end of the block', async () => {
    let stopped = 0;
    {
      await using worker = new Worker({ config: offline, processorFactory: new Recorder().factory, logger: silentLogger });
      worker.events.on('worker.stopped', () => stopped++);
      assert.equal(worker.state, 'created');
    }
    assert.equal(stopped, 1);
  });

  test('a signal aborted before start: the worker shuts down and start() rejects', async () => {
    const worker = new Worker({ config: offline, processorFactory: new Recorder().factory, logger: silentLogger, signal: AbortSignal.abort() });
    await waitFor('stopped', () => worker.state === 'stopped');
    await assert.rejects(worker.start(), InvalidStateException);
    await assert.rejects(worker.run(), InvalidStateException);
  });
});

describe('Worker lifecycle API', { skip: env ? false : SKIP_REASON }, () => {
  test('run() resolves after the signal starts a graceful shutdown; the injected client stays usable', async () => {
    const e = env!;
    const stream = await createTestStream(e, 'life', 1);
    await produceRecords(e.kinesis, { stream, count: 10 });
    const recorder = new Recorder();
    const stop = new AbortController();
    const worker = new Worker({ config: workerConfig(e, stream, uniqueName('app')), processorFactory: recorder.factory, logger: silentLogger, signal: stop.signal, dynamodb: e.dynamodb });
    const events: string[] = [];
    worker.events.on('worker.started', () => events.push('started'));
    worker.events.on('worker.stopped', () => events.push('stopped'));
    const running = worker.run();
    await waitFor('10 records', () => recorder.deliveries.length >= 10);
    assert.equal(worker.state, 'running');
    stop.abort();
    await running;
    assert.equal(worker.state, 'stopped');
    assert.deepEqual(events, ['started', 'stopped']);
    assert.ok(recorder.callsFor('shardId-000000000000').includes('shutdownRequested'));
    // The worker built its Kinesis client and destroyed it; the DynamoDB client was ours and still works.
    assert.ok((await e.dynamodb.send(new ListTablesCommand({}))).TableNames);
  });

  test('a failed start is fatal: start() and run() reject with the same error', async () => {
    const e = env!;
    const worker = new Worker({ config: workerConfig(e, uniqueName('no-such-stream'), uniqueName('app')), processorFactory: new Recorder().factory, logger: silentLogger });
    const running = worker.run();
    const error = await worker.start().then(
      () => assert.fail('start should fail'),
      (err: unknown) => err,
    );
    assert.ok(error instanceof InvalidStateException, String(error));
    await assert.rejects(running, (err) => err === error);
    assert.equal(worker.state, 'stopped');
  });

  test('the lease table deleted under a running worker is fatal: the worker stops and run() rejects', { timeout: 60_000 }, async () => {
    const e = env!;
    const stream = await createTestStream(e, 'fatal', 1);
    const app = uniqueName('app');
    const worker = new Worker({ config: workerConfig(e, stream, app), processorFactory: new Recorder().factory, logger: silentLogger });
    const errors: string[] = [];
    worker.events.on('worker.error', ({ where }) => errors.push(where));
    const running = worker.run();
    running.catch(() => undefined);
    await worker.start();
    await waitFor('lease held', () => worker.progress().length === 1);
    await e.dynamodb.send(new DeleteTableCommand({ TableName: app }));
    // Scan now instead of at the next turn.
    await waitFor('stopped', () => {
      workerInternals(worker).leases.requestTake();
      return worker.state === 'stopped';
    }, 30_000, 200);
    await assert.rejects(running, InvalidStateException);
    assert.ok(errors.includes('lease taker'), errors.join(', '));
  });
});
