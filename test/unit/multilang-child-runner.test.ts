/**
 * The TypeScript child runner (docs/daemon-protocol.md, 'Messages' and 'Checkpoint requests'): a fake daemon drives runChildProcessor over in-memory streams,
 * and one test runs a real child process to prove stray console.log output cannot reach the protocol.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { checkpointError, runChildProcessor } from '../../src/multilang/index.js';
import { LineSplitter } from '../../src/common/lines.js';
import {
  IllegalArgumentException,
  InvalidStateException,
  KclError,
  KinesisClientLibDependencyException,
  ShutdownException,
  ThrottlingException,
} from '../../src/common/errors.js';
import { SHARD_END } from '../../src/checkpoint/sequence.js';
import type {
  InitializationInput,
  LeaseLostInput,
  ProcessRecordsInput,
  RecordProcessor,
  ShardEndedInput,
  ShutdownRequestedInput,
} from '../../src/processor/types.js';

/** Reads non-blank lines from a stream as they arrive; `next()` waits for the next one. */
class LineQueue {
  private readonly lines: string[] = [];
  private readonly waiters: Array<(line: string | undefined) => void> = [];
  private ended = false;
  constructor(stream: NodeJS.ReadableStream) {
    const splitter = new LineSplitter();
    stream.on('data', (chunk: Buffer | string) => this.add(splitter.push(chunk)));
    stream.on('end', () => {
      this.add(splitter.end());
      this.ended = true;
      for (const w of this.waiters.splice(0)) w(undefined);
    });
  }
  private add(lines: string[]): void {
    for (const line of lines) {
      if (line.trim() === '') continue;
      const waiter = this.waiters.shift();
      if (waiter) waiter(line);
      else this.lines.push(line);
    }
  }
  next(): Promise<string | undefined> {
    const line = this.lines.shift();
    if (line !== undefined || this.ended) return Promise.resolve(line);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  async nextJson(): Promise<unknown> {
    const line = await this.next();
    assert.ok(line !== undefined, 'expected a line, got end of stream');
    return JSON.parse(line);
  }
}

/** Plays the daemon against runChildProcessor over PassThrough streams. */
function fakeDaemon(processor: RecordProcessor) {
  const input = new PassThrough();
  const output = new PassThrough();
  const errorOutput = new PassThrough();
  let stderr = '';
  errorOutput.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const fromChild = new LineQueue(output);
  const done = runChildProcessor(processor, { input, output, errorOutput });
  return {
    send: (msg: object | string) => input.write(typeof msg === 'string' ? msg : `${JSON.stringify(msg)}\n`),
    next: () => fromChild.nextJson(),
    end: () => input.end(),
    stderr: () => stderr,
    done,
  };
}

/** A processor whose behaviour per call is supplied by the test; it records what it was given. */
class ScriptedProcessor implements RecordProcessor {
  readonly calls: string[] = [];
  init?: InitializationInput;
  batches: ProcessRecordsInput[] = [];
  onProcessRecords: (input: ProcessRecordsInput) => Promise<void> | void = () => undefined;
  onShardEnded: (input: ShardEndedInput) => Promise<void> | void = () => undefined;
  onShutdownRequested: (input: ShutdownRequestedInput) => Promise<void> | void = () => undefined;
  initialize(input: InitializationInput): void {
    this.calls.push('initialize');
    this.init = input;
  }
  processRecords(input: ProcessRecordsInput): Promise<void> | void {
    this.calls.push('processRecords');
    this.batches.push(input);
    return this.onProcessRecords(input);
  }
  leaseLost(_input: LeaseLostInput): void {
    this.calls.push('leaseLost');
  }
  shardEnded(input: ShardEndedInput): Promise<void> | void {
    this.calls.push('shardEnded');
    return this.onShardEnded(input);
  }
  shutdownRequested(input: ShutdownRequestedInput): Promise<void> | void {
    this.calls.push('shutdownRequested');
    return this.onShutdownRequested(input);
  }
}

const INITIALIZE = { action: 'initialize', shardId: 'shardId-000000000001', sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 };
const TWO_RECORDS = {
  action: 'processRecords',
  records: [
    { action: 'record', data: Buffer.from('hello').toString('base64'), partitionKey: 'a', sequenceNumber: '100', approximateArrivalTimestamp: 1476889707000, subSequenceNumber: 0 },
    { action: 'record', data: Buffer.from('{"n":2}').toString('base64'), partitionKey: 'b', sequenceNumber: '200', approximateArrivalTimestamp: 1476889708000, subSequenceNumber: 0 },
  ],
  millisBehindLatest: 1000,
};

describe('runChildProcessor', () => {
  test('initialize → processRecords with a checkpoint round trip → leaseLost → resolves on input end', async () => {
    const processor = new ScriptedProcessor();
    const seen: unknown[] = [];
    processor.onProcessRecords = async ({ records, checkpointer }) => {
      seen.push(checkpointer.largestPermittedCheckpoint, checkpointer.lastCheckpoint);
      await checkpointer.checkpoint(records[1]!);
      seen.push(checkpointer.lastCheckpoint);
    };
    const daemon = fakeDaemon(processor);
    daemon.send(INITIALIZE);
    assert.deepEqual(await daemon.next(), { action: 'status', responseFor: 'initialize' });
    assert.deepEqual(processor.init, { shardId: 'shardId-000000000001', extendedSequenceNumber: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 } });

    daemon.send(TWO_RECORDS);
    assert.deepEqual(await daemon.next(), { action: 'checkpoint', sequenceNumber: '200', subSequenceNumber: 0 });
    daemon.send({ action: 'checkpoint', sequenceNumber: '200', subSequenceNumber: 0, error: null });
    assert.deepEqual(await daemon.next(), { action: 'status', responseFor: 'processRecords' });

    const batch = processor.batches[0]!;
    assert.equal(batch.shardId, 'shardId-000000000001');
    assert.equal(batch.millisBehindLatest, 1000);
    assert.deepEqual(batch.records.map((r) => r.text()), ['hello', '{"n":2}']);
    assert.deepEqual(batch.records[1]!.json(), { n: 2 });
    assert.deepEqual(batch.records.map((r) => [r.partitionKey, r.sequenceNumber, r.subSequenceNumber]), [['a', '100', 0], ['b', '200', 0]]);
    assert.equal(batch.records[0]!.approximateArrivalTimestamp.getTime(), 1476889707000);
    // data is decoded when first read, then the same Buffer every time; text() gives the same bytes either way.
    const first = batch.records[0]!;
    assert.ok(Buffer.isBuffer(first.data));
    assert.deepEqual([...first.data], [...Buffer.from('hello')]);
    assert.equal(first.data, first.data);
    assert.equal(first.text(), 'hello');
    assert.equal(first.approximateArrivalTimestamp, first.approximateArrivalTimestamp);
    assert.equal(first.aggregated, false);
    assert.deepEqual(seen, [
      { sequenceNumber: '200', subSequenceNumber: 0 },
      { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
      { sequenceNumber: '200', subSequenceNumber: 0 },
    ]);

    daemon.send({ action: 'leaseLost' });
    assert.deepEqual(await daemon.next(), { action: 'status', responseFor: 'leaseLost' });
    daemon.end();
    await daemon.done;
    assert.deepEqual(processor.calls, ['initialize', 'processRecords', 'leaseLost']);
  });

  test('a checkpoint answered with ShutdownException rejects with ShutdownException; status still follows', async () => {
    const processor = new ScriptedProcessor();
    let caught: unknown;
    processor.onProcessRecords = async ({ checkpointer }) => {
      await checkpointer.checkpoint('100', 0).catch((err: unknown) => (caught = err));
      assert.deepEqual(checkpointer.lastCheckpoint, { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 });
    };
    const daemon = fakeDaemon(processor);
    daemon.send(INITIALIZE);
    await daemon.next();
    daemon.send(TWO_RECORDS);
    assert.deepEqual(await daemon.next(), { action: 'checkpoint', sequenceNumber: '100', subSequenceNumber: 0 });
    daemon.send({ action: 'checkpoint', sequenceNumber: '100', subSequenceNumber: 0, error: 'ShutdownException' });
    assert.deepEqual(await daemon.next(), { action: 'status', responseFor: 'processRecords' });
    assert.ok(caught instanceof ShutdownException);
    assert.match(caught.message, /ShutdownException/);
    daemon.end();
    await daemon.done;
  });

  test('shardEnded + checkpoint() sends a null checkpoint and records SHARD_END', async () => {
    const processor = new ScriptedProcessor();
    const seen: unknown[] = [];
    processor.onShardEnded = async ({ checkpointer }) => {
      seen.push(checkpointer.largestPermittedCheckpoint);
      await checkpointer.checkpoint();
      seen.push(checkpointer.lastCheckpoint);
    };
    const daemon = fakeDaemon(processor);
    daemon.send(INITIALIZE);
    await daemon.next();
    daemon.send({ action: 'shardEnded' });
    assert.deepEqual(await daemon.next(), { action: 'checkpoint', sequenceNumber: null, subSequenceNumber: null });
    daemon.send({ action: 'checkpoint', sequenceNumber: null, subSequenceNumber: null, error: null });
    assert.deepEqual(await daemon.next(), { action: 'status', responseFor: 'shardEnded' });
    assert.deepEqual(seen, [SHARD_END, SHARD_END]);
    daemon.end();
    await daemon.done;
  });

  test('concurrent checkpoints go out one at a time; an un-awaited one finishes before the status', async () => {
    const processor = new ScriptedProcessor();
    const results: string[] = [];
    processor.onShutdownRequested = ({ checkpointer }) => {
      void checkpointer.checkpoint('100').then(() => results.push('first'));
      void checkpointer.checkpoint('200', 1).then(() => results.push('second'));
    };
    const daemon = fakeDaemon(processor);
    daemon.send(INITIALIZE);
    await daemon.next();
    daemon.send({ action: 'shutdownRequested' });
    assert.deepEqual(await daemon.next(), { action: 'checkpoint', sequenceNumber: '100', subSequenceNumber: null });
    daemon.send({ action: 'checkpoint', sequenceNumber: '100', subSequenceNumber: null, error: null });
    assert.deepEqual(await daemon.next(), { action: 'checkpoint', sequenceNumber: '200', subSequenceNumber: 1 });
    daemon.send({ action: 'checkpoint', sequenceNumber: '200', subSequenceNumber: 1, error: null });
    assert.deepEqual(await daemon.next(), { action: 'status', responseFor: 'shutdownRequested' });
    assert.deepEqual(results, ['first', 'second']);
    daemon.end();
    await daemon.done;
  });

  test('a throwing processor still answers with a status and reports the error with its stack', async () => {
    const processor = new ScriptedProcessor();
    processor.onProcessRecords = () => {
      throw new Error('boom in user code');
    };
    const daemon = fakeDaemon(processor);
    daemon.send(INITIALIZE);
    await daemon.next();
    daemon.send(TWO_RECORDS);
    assert.deepEqual(await daemon.next(), { action: 'status', responseFor: 'processRecords' });
    assert.match(daemon.stderr(), /processRecords failed for shardId-000000000001: Error: boom in user code\n\s+at /);
    daemon.end();
    await daemon.done;
  });

  test('blank lines (\\n, \\r\\n, whitespace) from the daemon are skipped, garbage is reported', async () => {
    const processor = new ScriptedProcessor();
    const daemon = fakeDaemon(processor);
    daemon.send(`\n\r\n  \n${JSON.stringify(INITIALIZE)}\r\n\nnot json\n`);
    assert.deepEqual(await daemon.next(), { action: 'status', responseFor: 'initialize' });
    daemon.send(`${JSON.stringify({ action: 'leaseLost' })}`);
    daemon.end();
    assert.deepEqual(await daemon.next(), { action: 'status', responseFor: 'leaseLost' });
    await daemon.done;
    assert.deepEqual(processor.calls, ['initialize', 'leaseLost']);
    assert.match(daemon.stderr(), /ignoring unexpected line from the daemon .*not json/);
  });

  test('a checkpointer used after its call returned rejects locally without touching the protocol', async () => {
    const processor = new ScriptedProcessor();
    let kept: ProcessRecordsInput['checkpointer'] | undefined;
    processor.onProcessRecords = ({ checkpointer }) => {
      kept = checkpointer;
    };
    const daemon = fakeDaemon(processor);
    daemon.send(INITIALIZE);
    await daemon.next();
    daemon.send(TWO_RECORDS);
    assert.deepEqual(await daemon.next(), { action: 'status', responseFor: 'processRecords' });
    await assert.rejects(kept!.checkpoint(), InvalidStateException);
    daemon.end();
    await daemon.done;
  });
});

describe('checkpointError', () => {
  test('maps Java simple names to the matching classes, anything else to KclError', () => {
    const cases: Array<[string, new (...args: never[]) => KclError]> = [
      ['ShutdownException', ShutdownException],
      ['ThrottlingException', ThrottlingException],
      ['InvalidStateException', InvalidStateException],
      ['KinesisClientLibDependencyException', KinesisClientLibDependencyException],
      ['IllegalArgumentException', IllegalArgumentException],
    ];
    for (const [name, cls] of cases) {
      const err = checkpointError(name, '1');
      assert.ok(err instanceof cls, name);
      assert.equal(err.name, name);
    }
    const other = checkpointError('NullPointerException', '1');
    assert.equal(other.constructor, KclError);
    assert.match(other.message, /NullPointerException/);
  });
});

describe('real child process', () => {
  test('console.log in a processor goes to stderr; stdout carries only protocol lines', { timeout: 20_000 }, async () => {
    const script = fileURLToPath(new URL('../fixtures/multilang/stray-stdout-processor.js', import.meta.url));
    const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdoutText = '';
    let stderrText = '';
    child.stdout.on('data', (chunk: Buffer) => (stdoutText += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderrText += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const fromChild = new LineQueue(child.stdout);
    const send = (msg: object) => child.stdin.write(`${JSON.stringify(msg)}\n`);

    send(INITIALIZE);
    assert.deepEqual(await fromChild.nextJson(), { action: 'status', responseFor: 'initialize' });
    send(TWO_RECORDS);
    assert.deepEqual(await fromChild.nextJson(), { action: 'checkpoint', sequenceNumber: null, subSequenceNumber: null });
    send({ action: 'checkpoint', sequenceNumber: null, subSequenceNumber: null, error: null });
    assert.deepEqual(await fromChild.nextJson(), { action: 'status', responseFor: 'processRecords' });
    send({ action: 'leaseLost' });
    assert.deepEqual(await fromChild.nextJson(), { action: 'status', responseFor: 'leaseLost' });
    child.stdin.end();
    assert.equal(await exited, 0);

    const lines = stdoutText.split(/\r?\n/).filter((l) => l.trim() !== '');
    assert.equal(lines.length, 4, stdoutText);
    for (const line of lines) {
      const msg = JSON.parse(line) as { action?: unknown };
      assert.ok(msg.action === 'status' || msg.action === 'checkpoint', line);
    }
    assert.match(stderrText, /stray console\.log 2/);
    assert.match(stderrText, /stray write/);
    assert.match(stderrText, /after checkpoint/);
  });
});
