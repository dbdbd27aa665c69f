/**
 * The ShardConsumer state machine (docs/checkpoints.md, 'Processor lifecycle'; docs/shards.md, 'Parents and children') and its pure parts
 * (reason precedence, legal transitions), driven by a VirtualClock, a fake RecordsSource fed by the test, a fake
 * lease layer and a recording processor. No real time passes: every wait is virtual.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock, flushMicrotasks } from '../../src/common/clock.js';
import { KclEvents, type KclEventMap } from '../../src/common/events.js';
import { silentLogger } from '../../src/common/logger.js';
import { ShutdownException } from '../../src/common/errors.js';
import { SHARD_END, TRIM_HORIZON, type ExtendedSequenceNumber } from '../../src/checkpoint/sequence.js';
import { ShardConsumer, type ConsumerLeaseAccess, type ShardConsumerOptions } from '../../src/lifecycle/shard-consumer.js';
import { TRANSITIONS, canTransition, finalCallback, mergeShutdownReason, type ConsumerState, type ShutdownReason } from '../../src/lifecycle/states.js';
import type { Lease } from '../../src/leases/lease.js';
import type { ChildShard, Checkpointer, InitializationInput, ProcessRecordsInput, RecordProcessor, ShardEndedInput, ShutdownRequestedInput, LeaseLostInput } from '../../src/processor/types.js';
import type { RecordsBatch, RecordsSource } from '../../src/retrieval/polling.js';
import { createUserRecord } from '../../src/retrieval/user-record.js';
import { deferred, type Deferred } from '../helpers/deferred.js';

// ---------------------------------------------------------------------------------------------------------------
// Pure parts
// ---------------------------------------------------------------------------------------------------------------

describe('mergeShutdownReason: LEASE_LOST (3) > SHARD_END (2) > REQUESTED (1)', () => {
  const table: [ShutdownReason | undefined, ShutdownReason, ShutdownReason][] = [
    [undefined, 'REQUESTED', 'REQUESTED'],
    [undefined, 'SHARD_END', 'SHARD_END'],
    [undefined, 'LEASE_LOST', 'LEASE_LOST'],
    ['REQUESTED', 'REQUESTED', 'REQUESTED'],
    ['REQUESTED', 'SHARD_END', 'SHARD_END'],
    ['REQUESTED', 'LEASE_LOST', 'LEASE_LOST'],
    ['SHARD_END', 'REQUESTED', 'SHARD_END'],
    ['SHARD_END', 'SHARD_END', 'SHARD_END'],
    ['SHARD_END', 'LEASE_LOST', 'LEASE_LOST'],
    ['LEASE_LOST', 'REQUESTED', 'LEASE_LOST'],
    ['LEASE_LOST', 'SHARD_END', 'LEASE_LOST'],
    ['LEASE_LOST', 'LEASE_LOST', 'LEASE_LOST'],
  ];
  for (const [current, incoming, expected] of table) {
    test(`${String(current)} + ${incoming} → ${expected}`, () => {
      assert.equal(mergeShutdownReason(current, incoming), expected);
    });
  }

  test('finalCallback maps each reason to its processor method', () => {
    assert.equal(finalCallback('LEASE_LOST'), 'leaseLost');
    assert.equal(finalCallback('SHARD_END'), 'shardEnded');
    assert.equal(finalCallback('REQUESTED'), 'shutdownRequested');
  });
});

describe('canTransition: the full 5 × 5 table', () => {
  const states: ConsumerState[] = ['WAITING_ON_PARENT_SHARDS', 'INITIALIZING', 'PROCESSING', 'SHUTTING_DOWN', 'SHUTDOWN_COMPLETE'];
  const allowed = new Set([
    'WAITING_ON_PARENT_SHARDS→INITIALIZING',
    'WAITING_ON_PARENT_SHARDS→SHUTTING_DOWN',
    'INITIALIZING→PROCESSING',
    'INITIALIZING→SHUTTING_DOWN',
    'PROCESSING→PROCESSING',
    'PROCESSING→SHUTTING_DOWN',
    'SHUTTING_DOWN→SHUTDOWN_COMPLETE',
  ]);
  for (const from of states) {
    for (const to of states) {
      const key = `${from}→${to}`;
      test(`${key}: ${allowed.has(key) ? 'allowed' : 'illegal'}`, () => {
        assert.equal(canTransition(from, to), allowed.has(key));
      });
    }
  }
  test('SHUTDOWN_COMPLETE is the only terminal state', () => {
    for (const s of states) assert.equal(TRANSITIONS[s].length === 0, s === 'SHUTDOWN_COMPLETE', s);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Fakes
// ---------------------------------------------------------------------------------------------------------------


const SHARD = 'shardId-000000000001';
const PARENT = 'shardId-000000000000';
const TOKEN = 'token-1';

function records(...seqs: string[]) {
  return seqs.map((sequenceNumber) => createUserRecord({ data: Buffer.from(`r${sequenceNumber}`), partitionKey: 'pk', sequenceNumber }));
}

function batch(seqs: string[], extra: Partial<RecordsBatch> = {}): RecordsBatch {
  return { records: records(...seqs), millisBehindLatest: 0, isShardEnd: false, bytes: seqs.length * 4, ...extra };
}

/** A RecordsSource fed by the test. `next` rejects with signal.reason when the signal aborts. */
class FakeSource implements RecordsSource {
  private readonly queue: RecordsBatch[] = [];
  private waiter: ((b: RecordsBatch) => void) | undefined;
  nextCalls = 0;
  closeCalls = 0;

  push(...batches: RecordsBatch[]): void {
    for (const b of batches) {
      const w = this.waiter;
      if (w) {
        this.waiter = undefined;
        w(b);
      } else {
        this.queue.push(b);
      }
    }
  }

  /** True while a `next` call is parked waiting for a batch. */
  get waiting(): boolean {
    return this.waiter !== undefined;
  }

  next(signal: AbortSignal): Promise<RecordsBatch> {
    this.nextCalls++;
    if (signal.aborted) return Promise.reject(signal.reason);
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise<RecordsBatch>((resolve, reject) => {
      const onAbort = () => {
        this.waiter = undefined;
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiter = (b) => {
        signal.removeEventListener('abort', onAbort);
        resolve(b);
      };
    });
  }

  async close(): Promise<void> {
    this.closeCalls++;
  }
}

interface CheckpointCall {
  leaseKey: string;
  token: string;
  value: ExtendedSequenceNumber;
  childShardIds: readonly string[] | undefined;
}

class FakeLeases implements ConsumerLeaseAccess {
  held = true;
  readonly leases = new Map<string, Lease>();
  readonly getLeaseCalls: string[] = [];
  readonly checkpoints: CheckpointCall[] = [];
  isHeld(leaseKey: string, concurrencyToken: string): boolean {
    return this.held && leaseKey === SHARD && concurrencyToken === TOKEN;
  }
  async getLease(leaseKey: string): Promise<Lease | undefined> {
    this.getLeaseCalls.push(leaseKey);
    return this.leases.get(leaseKey);
  }
  async checkpoint(leaseKey: string, token: string, value: ExtendedSequenceNumber, childShardIds?: readonly string[]): Promise<unknown> {
    if (!this.held) throw new ShutdownException(`${leaseKey} is not held`);
    this.checkpoints.push({ leaseKey, token, value, childShardIds });
    return undefined;
  }
}

type Hook<I> = (input: I, call: number) => void | Promise<void>;

/** Records every call in order; behaviour per call can be overridden by the test. */
class RecordingProcessor implements RecordProcessor {
  readonly calls: string[] = [];
  readonly delivered: string[][] = [];
  readonly initInputs: InitializationInput[] = [];
  readonly processInputs: ProcessRecordsInput[] = [];
  /** The checkpointer from the latest processRecords / shardEnded / shutdownRequested. */
  checkpointer: Checkpointer | undefined;
  inFlight = 0;
  maxInFlight = 0;
  private readonly counts = new Map<string, number>();
  onInitialize: Hook<InitializationInput> | undefined;
  onProcessRecords: Hook<ProcessRecordsInput> | undefined;
  onShardEnded: Hook<ShardEndedInput> | undefined;
  onShutdownRequested: Hook<ShutdownRequestedInput> | undefined;
  onLeaseLost: Hook<LeaseLostInput> | undefined;

  count(name: string): number {
    return this.counts.get(name) ?? 0;
  }

  private async run<I>(name: string, input: I, hook: Hook<I> | undefined): Promise<void> {
    this.calls.push(name);
    const n = this.count(name) + 1;
    this.counts.set(name, n);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await hook?.(input, n);
    } finally {
      this.inFlight--;
    }
  }

  initialize(input: InitializationInput): Promise<void> {
    this.initInputs.push(input);
    return this.run('initialize', input, this.onInitialize);
  }
  processRecords(input: ProcessRecordsInput): Promise<void> {
    this.processInputs.push(input);
    this.delivered.push(input.records.map((r) => r.sequenceNumber));
    this.checkpointer = input.checkpointer;
    return this.run('processRecords', input, this.onProcessRecords);
  }
  shardEnded(input: ShardEndedInput): Promise<void> {
    this.checkpointer = input.checkpointer;
    return this.run('shardEnded', input, this.onShardEnded);
  }
  shutdownRequested(input: ShutdownRequestedInput): Promise<void> {
    this.checkpointer = input.checkpointer;
    return this.run('shutdownRequested', input, this.onShutdownRequested);
  }
  leaseLost(input: LeaseLostInput): Promise<void> {
    return this.run('leaseLost', input, this.onLeaseLost);
  }
}

interface Harness {
  consumer: ShardConsumer;
  clock: VirtualClock;
  source: FakeSource;
  leases: FakeLeases;
  processor: RecordingProcessor;
  events: KclEvents;
  sourceStarts: ExtendedSequenceNumber[];
  onShardEndCalls: { shardId: string; children: readonly ChildShard[]; callsSoFar: string[] }[];
  emitted: { name: keyof KclEventMap; event: unknown }[];
}

function makeLease(overrides: Partial<Lease> = {}): Lease {
  return {
    leaseKey: SHARD,
    leaseOwner: 'me',
    leaseCounter: 3,
    checkpoint: TRIM_HORIZON,
    ownerSwitchesSinceCheckpoint: 0,
    parentShardIds: [],
    childShardIds: [],
    ...overrides,
  };
}

function setup(opts: { lease?: Partial<Lease>; options?: Partial<ShardConsumerOptions>; withOnShardEnd?: boolean; onShardEndFailures?: number } = {}): Harness {
  const clock = new VirtualClock();
  const source = new FakeSource();
  const leases = new FakeLeases();
  const processor = new RecordingProcessor();
  const events = new KclEvents();
  const sourceStarts: ExtendedSequenceNumber[] = [];
  const onShardEndCalls: Harness['onShardEndCalls'] = [];
  const emitted: Harness['emitted'] = [];
  for (const name of ['worker.error', 'processor.initialized', 'records.delivered', 'checkpoint.written', 'shard.ended', 'processor.shutdown'] as const) {
    events.on(name, (event) => emitted.push({ name, event }));
  }
  const consumer = new ShardConsumer({
    lease: makeLease(opts.lease),
    concurrencyToken: TOKEN,
    processor,
    createSource: (start) => {
      sourceStarts.push(start);
      return source;
    },
    leases,
    ...(opts.withOnShardEnd === false
      ? {}
      : {
          onShardEnd: async (shardId: string, children: readonly ChildShard[]) => {
            onShardEndCalls.push({ shardId, children, callsSoFar: [...processor.calls] });
            if (onShardEndCalls.length <= (opts.onShardEndFailures ?? 0)) throw new Error('CreateLease throttled');
          },
        }),
    options: {
      callProcessRecordsEvenForEmptyRecordList: false,
      parentShardPollIntervalMillis: 10_000,
      taskBackoffTimeMillis: 500,
      ...opts.options,
    },
    clock,
    events,
    logger: silentLogger,
  });
  return { consumer, clock, source, leases, processor, events, sourceStarts, onShardEndCalls, emitted };
}

/** Resolves with the run() result, or 'pending' if the consumer has not finished yet. */
async function outcome(run: Promise<ShutdownReason>): Promise<ShutdownReason | 'pending'> {
  return Promise.race([run, flushMicrotasks().then(() => 'pending' as const)]);
}

const esn = (sequenceNumber: string, subSequenceNumber = 0): ExtendedSequenceNumber => ({ sequenceNumber, subSequenceNumber });
/** Only the position of a checkpoint value (a separate test checks that the value carries nothing else). */
const pos = (v: ExtendedSequenceNumber): ExtendedSequenceNumber => ({ sequenceNumber: v.sequenceNumber, subSequenceNumber: v.subSequenceNumber });
const written = (h: Harness): ExtendedSequenceNumber[] => h.leases.checkpoints.map((c) => pos(c.value));

// ---------------------------------------------------------------------------------------------------------------
// State machine
// ---------------------------------------------------------------------------------------------------------------

describe('ShardConsumer', () => {
  test('initialize → processRecords* → shutdownRequested on requestShutdown(); checkpoint inside shutdownRequested is written', async () => {
    const h = setup();
    h.processor.onShutdownRequested = async ({ checkpointer }) => {
      await checkpointer.checkpoint();
    };
    const run = h.consumer.run();
    assert.equal(h.consumer.run(), run, 'run() is idempotent');
    await flushMicrotasks();
    assert.deepEqual(h.processor.calls, ['initialize']);
    assert.deepEqual(h.processor.initInputs, [{ shardId: SHARD, extendedSequenceNumber: TRIM_HORIZON, pendingCheckpointSequenceNumber: undefined }]);
    assert.equal(h.consumer.state, 'PROCESSING');
    assert.deepEqual(h.sourceStarts, [TRIM_HORIZON]);

    h.source.push(batch(['100', '101']));
    await flushMicrotasks();
    h.source.push(batch(['102']));
    await flushMicrotasks();
    assert.deepEqual(h.processor.delivered, [['100', '101'], ['102']]);
    assert.equal(h.consumer.delivered, 3);
    assert.equal(h.processor.processInputs[0]!.shardId, SHARD);
    assert.equal(h.processor.processInputs[0]!.isAtShardEnd, false);

    h.consumer.requestShutdown();
    assert.equal(await run, 'REQUESTED');
    assert.deepEqual(h.processor.calls, ['initialize', 'processRecords', 'processRecords', 'shutdownRequested']);
    assert.deepEqual(h.leases.checkpoints.map((c) => ({ ...c, value: pos(c.value) })), [{ leaseKey: SHARD, token: TOKEN, value: esn('102'), childShardIds: undefined }]);
    assert.deepEqual(pos(h.consumer.lastCheckpoint), esn('102'));
    assert.equal(h.consumer.state, 'SHUTDOWN_COMPLETE');
    assert.equal(h.consumer.shutdownReason, 'REQUESTED');
    assert.equal(h.source.closeCalls, 1);
    assert.equal(h.clock.now(), 0, 'no virtual time was needed');
    const shutdownEvents = h.emitted.filter((e) => e.name === 'processor.shutdown').map((e) => e.event);
    assert.deepEqual(shutdownEvents, [{ shardId: SHARD, reason: 'REQUESTED' }]);
    assert.deepEqual(
      h.emitted.filter((e) => e.name === 'checkpoint.written').map((e) => {
        const ev = e.event as KclEventMap['checkpoint.written'];
        return { shardId: ev.shardId, checkpoint: pos(ev.checkpoint) };
      }),
      [{ shardId: SHARD, checkpoint: esn('102') }],
    );
  });

  test('a checkpoint value is a plain { sequenceNumber, subSequenceNumber } everywhere, not the record object with its payload', async () => {
    // checkpoint() with no argument writes the largest permitted position. The consumer must not pass the last
    // KinesisClientRecord itself as that position: it would reach the lease layer (and the in-memory lease),
    // the checkpoint.written event and lastCheckpoint / Worker.progress(), carrying the record's data buffer.
    const h = setup();
    h.processor.onShutdownRequested = async ({ checkpointer }) => {
      await checkpointer.checkpoint();
    };
    const run = h.consumer.run();
    await flushMicrotasks();
    h.source.push(batch(['100', '101']));
    await flushMicrotasks();
    h.consumer.requestShutdown();
    await run;
    assert.deepEqual(h.leases.checkpoints.map((c) => c.value), [esn('101')], 'value passed to ConsumerLeaseAccess.checkpoint');
    assert.deepEqual(h.consumer.lastCheckpoint, esn('101'), 'ShardConsumer.lastCheckpoint');
    assert.deepEqual(
      h.emitted.filter((e) => e.name === 'checkpoint.written').map((e) => (e.event as KclEventMap['checkpoint.written']).checkpoint),
      [esn('101')],
      'checkpoint.written event',
    );
  });

  test('the checkpointer is closed once the consumer has shut down', async () => {
    const h = setup();
    const run = h.consumer.run();
    await flushMicrotasks();
    h.source.push(batch(['100']));
    await flushMicrotasks();
    h.consumer.requestShutdown();
    await run;
    await assert.rejects(h.processor.checkpointer!.checkpoint(), ShutdownException);
    assert.deepEqual(h.leases.checkpoints, []);
  });

  test('initialize receives the stored checkpoint and pending checkpoint; the source starts from the checkpoint', async () => {
    const h = setup({ lease: { checkpoint: esn('555', 2), pendingCheckpoint: esn('600') } });
    const run = h.consumer.run();
    await flushMicrotasks();
    assert.deepEqual(h.processor.initInputs, [{ shardId: SHARD, extendedSequenceNumber: esn('555', 2), pendingCheckpointSequenceNumber: esn('600') }]);
    assert.deepEqual(h.sourceStarts, [esn('555', 2)]);
    h.consumer.requestShutdown();
    assert.equal(await run, 'REQUESTED');
  });

  test('leaseLost() while waiting for records ends with leaseLost; a checkpoint attempt inside it fails with ShutdownException', async () => {
    const h = setup();
    let checkpointError: unknown;
    h.processor.onLeaseLost = async () => {
      try {
        await h.processor.checkpointer!.checkpoint();
      } catch (err) {
        checkpointError = err;
      }
    };
    const run = h.consumer.run();
    await flushMicrotasks();
    h.source.push(batch(['100']));
    await flushMicrotasks();
    assert.equal(h.source.waiting, true, 'the consumer is parked in next()');
    h.consumer.leaseLost();
    assert.equal(await run, 'LEASE_LOST');
    assert.deepEqual(h.processor.calls, ['initialize', 'processRecords', 'leaseLost']);
    assert.ok(checkpointError instanceof ShutdownException, `expected ShutdownException, got ${String(checkpointError)}`);
    assert.deepEqual(h.leases.checkpoints, []);
    assert.equal(h.consumer.state, 'SHUTDOWN_COMPLETE');
    assert.equal(h.source.closeCalls, 1);
    assert.equal(h.clock.now(), 0);
  });

  test('lease lost wins over an earlier shutdown request (precedence inside the consumer)', async () => {
    const h = setup();
    const gate = deferred();
    h.processor.onProcessRecords = () => gate.promise;
    const run = h.consumer.run();
    await flushMicrotasks();
    h.source.push(batch(['100']));
    await flushMicrotasks();
    h.consumer.requestShutdown();
    h.consumer.leaseLost();
    gate.resolve();
    assert.equal(await run, 'LEASE_LOST');
    assert.deepEqual(h.processor.calls, ['initialize', 'processRecords', 'leaseLost']);
  });

  test('processRecords throwing: the batch is skipped, the next batch is still delivered, a later checkpoint covers the skipped one', async () => {
    const h = setup();
    let laterCheckpoint: unknown = 'not called';
    h.processor.onProcessRecords = async ({ checkpointer }, n) => {
      if (n === 1) throw new Error('processor bug');
      // Batch 2 checkpoints the last record of the skipped batch 1: permitted.
      await checkpointer.checkpoint('101');
      laterCheckpoint = 'ok';
    };
    h.processor.onShutdownRequested = async ({ checkpointer }) => {
      await checkpointer.checkpoint();
    };
    const run = h.consumer.run();
    await flushMicrotasks();
    h.source.push(batch(['100', '101']), batch(['102']));
    await flushMicrotasks();
    assert.deepEqual(h.processor.delivered, [['100', '101'], ['102']], 'each batch delivered once, none redelivered');
    assert.equal(laterCheckpoint, 'ok');
    h.consumer.requestShutdown();
    assert.equal(await run, 'REQUESTED');
    assert.deepEqual(written(h), [esn('101'), esn('102')]);
    const errors = h.emitted.filter((e) => e.name === 'worker.error').map((e) => e.event as KclEventMap['worker.error']);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.where, 'processRecords');
    assert.equal(errors[0]!.error.message, 'processor bug');
    assert.equal(h.consumer.delivered, 3);
  });

  test('checkpoint() right after a skipped batch writes its last record', async () => {
    const h = setup();
    h.processor.onProcessRecords = () => {
      throw new Error('boom');
    };
    h.processor.onShutdownRequested = async ({ checkpointer }) => {
      await checkpointer.checkpoint();
    };
    const run = h.consumer.run();
    await flushMicrotasks();
    h.source.push(batch(['100', '101']));
    await flushMicrotasks();
    h.consumer.requestShutdown();
    await run;
    assert.deepEqual(written(h), [esn('101')]);
  });

  test('initialize throwing is retried after taskBackoffTimeMillis of virtual time, not before', async () => {
    const h = setup();
    h.processor.onInitialize = (_input, n) => {
      if (n === 1) throw new Error('init failed');
    };
    const run = h.consumer.run();
    await flushMicrotasks();
    assert.equal(h.processor.count('initialize'), 1);
    assert.equal(h.consumer.state, 'INITIALIZING');
    await h.clock.advance(499);
    assert.equal(h.processor.count('initialize'), 1, 'not retried before the backoff');
    assert.deepEqual(h.sourceStarts, []);
    await h.clock.advance(1);
    assert.equal(h.processor.count('initialize'), 2);
    assert.equal(h.consumer.state, 'PROCESSING');
    assert.deepEqual(h.sourceStarts, [TRIM_HORIZON]);
    h.source.push(batch(['7']));
    await flushMicrotasks();
    assert.deepEqual(h.processor.calls, ['initialize', 'initialize', 'processRecords']);
    h.consumer.requestShutdown();
    assert.equal(await run, 'REQUESTED');
    const errors = h.emitted.filter((e) => e.name === 'worker.error').map((e) => (e.event as KclEventMap['worker.error']).where);
    assert.deepEqual(errors, ['initialize']);
  });

  test('initialize failing repeatedly backs off each time', async () => {
    const h = setup({ options: { taskBackoffTimeMillis: 200 } });
    h.processor.onInitialize = (_input, n) => {
      if (n <= 3) throw new Error(`fail ${n}`);
    };
    const run = h.consumer.run();
    await flushMicrotasks();
    await h.clock.advance(200);
    assert.equal(h.processor.count('initialize'), 2);
    await h.clock.advance(199);
    assert.equal(h.processor.count('initialize'), 2);
    await h.clock.advance(1);
    assert.equal(h.processor.count('initialize'), 3);
    await h.clock.advance(200);
    assert.equal(h.processor.count('initialize'), 4);
    assert.equal(h.consumer.state, 'PROCESSING');
    h.consumer.requestShutdown();
    await run;
  });

  test('an empty batch is not delivered when callProcessRecordsEvenForEmptyRecordList is false', async () => {
    const h = setup();
    const run = h.consumer.run();
    await flushMicrotasks();
    h.source.push(batch([], { millisBehindLatest: 1234 }), batch(['100']));
    await flushMicrotasks();
    assert.deepEqual(h.processor.delivered, [['100']]);
    assert.equal(h.source.nextCalls >= 2, true);
    h.consumer.requestShutdown();
    await run;
  });

  test('an empty batch is delivered when callProcessRecordsEvenForEmptyRecordList is true', async () => {
    const h = setup({ options: { callProcessRecordsEvenForEmptyRecordList: true } });
    const run = h.consumer.run();
    await flushMicrotasks();
    h.source.push(batch([], { millisBehindLatest: 1234 }));
    await flushMicrotasks();
    assert.deepEqual(h.processor.delivered, [[]]);
    assert.equal(h.processor.processInputs[0]!.millisBehindLatest, 1234);
    assert.equal(h.consumer.millisBehindLatest, 1234);
    h.consumer.requestShutdown();
    await run;
  });

  describe('shard end', () => {
    const children: ChildShard[] = [
      { shardId: 'shardId-000000000005', parentShards: [SHARD] },
      { shardId: 'shardId-000000000006', parentShards: [SHARD] },
    ];

    test('shard-end batch → delivered with isAtShardEnd, child leases created, then shardEnded; checkpoint() writes SHARD_END', async () => {
      const h = setup();
      h.processor.onShardEnded = async ({ checkpointer }) => {
        assert.deepEqual(checkpointer.largestPermittedCheckpoint, SHARD_END);
        await checkpointer.checkpoint();
      };
      const run = h.consumer.run();
      await flushMicrotasks();
      h.source.push(batch(['100', '101'], { isShardEnd: true, childShards: children }));
      assert.equal(await run, 'SHARD_END');
      assert.deepEqual(h.processor.calls, ['initialize', 'processRecords', 'shardEnded']);
      assert.equal(h.processor.processInputs[0]!.isAtShardEnd, true);
      assert.deepEqual(h.processor.processInputs[0]!.childShards, children);
      assert.deepEqual(h.onShardEndCalls, [{ shardId: SHARD, children, callsSoFar: ['initialize', 'processRecords'] }]);
      assert.deepEqual(h.leases.checkpoints, [
        { leaseKey: SHARD, token: TOKEN, value: SHARD_END, childShardIds: ['shardId-000000000005', 'shardId-000000000006'] },
      ]);
      assert.deepEqual(h.consumer.lastCheckpoint, SHARD_END);
      assert.equal(h.consumer.shutdownReason, 'SHARD_END');
      assert.equal(h.consumer.state, 'SHUTDOWN_COMPLETE');
      assert.deepEqual(
        h.emitted.filter((e) => e.name === 'shard.ended').map((e) => e.event),
        [{ shardId: SHARD, childShardIds: ['shardId-000000000005', 'shardId-000000000006'] }],
      );
      assert.equal(h.source.nextCalls, 1, 'no read after the shard-end batch');
    });

    test('checkpointing the last delivered record inside shardEnded is written as SHARD_END', async () => {
      const h = setup();
      h.processor.onShardEnded = async ({ checkpointer }) => {
        await checkpointer.checkpoint('101');
      };
      const run = h.consumer.run();
      await flushMicrotasks();
      h.source.push(batch(['100', '101'], { isShardEnd: true, childShards: children }));
      assert.equal(await run, 'SHARD_END');
      assert.deepEqual(h.leases.checkpoints.map((c) => c.value), [SHARD_END]);
    });

    test('shardEnded without a checkpoint is called again after the backoff; once it checkpoints the consumer completes with SHARD_END', async () => {
      const h = setup();
      h.processor.onShardEnded = async ({ checkpointer }, n) => {
        if (n >= 2) await checkpointer.checkpoint();
      };
      const run = h.consumer.run();
      await flushMicrotasks();
      h.source.push(batch(['100'], { isShardEnd: true, childShards: children }));
      await flushMicrotasks();
      assert.equal(h.processor.count('shardEnded'), 1);
      assert.equal(await outcome(run), 'pending');
      await h.clock.advance(499);
      assert.equal(h.processor.count('shardEnded'), 1, 'not before the backoff');
      await h.clock.advance(1);
      assert.equal(h.processor.count('shardEnded'), 2);
      assert.equal(await run, 'SHARD_END');
      assert.deepEqual(h.processor.calls, ['initialize', 'processRecords', 'shardEnded', 'shardEnded']);
      assert.deepEqual(h.leases.checkpoints.map((c) => c.value), [SHARD_END]);
      assert.deepEqual(h.consumer.lastCheckpoint, SHARD_END);
      assert.equal(h.onShardEndCalls.length, 1, 'child leases are created once');
    });

    test('shardEnded that throws is retried after the backoff too (shardEnded is repeated until SHARD_END is checkpointed)', async () => {
      const h = setup();
      h.processor.onShardEnded = async ({ checkpointer }, n) => {
        if (n === 1) throw new Error('transient failure in shardEnded');
        await checkpointer.checkpoint();
      };
      const run = h.consumer.run();
      await flushMicrotasks();
      h.source.push(batch(['100'], { isShardEnd: true, childShards: children }));
      await flushMicrotasks();
      assert.equal(h.processor.count('shardEnded'), 1);
      await h.clock.advance(500);
      assert.equal(h.processor.count('shardEnded'), 2, 'shardEnded must be called again after it threw');
      assert.equal(await outcome(run), 'SHARD_END');
      assert.deepEqual(h.leases.checkpoints.map((c) => c.value), [SHARD_END]);
    });

    test('child lease creation failing is retried after the backoff, then shardEnded runs (child leases come first)', async () => {
      const h = setup({ onShardEndFailures: 1 });
      h.processor.onShardEnded = async ({ checkpointer }) => {
        await checkpointer.checkpoint();
      };
      const run = h.consumer.run();
      await flushMicrotasks();
      h.source.push(batch(['100'], { isShardEnd: true, childShards: children }));
      await flushMicrotasks();
      assert.equal(h.onShardEndCalls.length, 1);
      assert.equal(h.processor.count('shardEnded'), 0, 'shardEnded only after the child leases exist');
      await h.clock.advance(500);
      assert.equal(h.onShardEndCalls.length, 2, 'child lease creation must be tried again after the backoff');
      assert.equal(await outcome(run), 'SHARD_END');
      assert.deepEqual(h.processor.calls, ['initialize', 'processRecords', 'shardEnded']);
      assert.deepEqual(h.leases.checkpoints.map((c) => c.value), [SHARD_END]);
    });

    test('losing the lease while waiting to call shardEnded again stops the retries', async () => {
      const h = setup();
      const run = h.consumer.run();
      await flushMicrotasks();
      h.source.push(batch(['100'], { isShardEnd: true, childShards: children }));
      await flushMicrotasks();
      assert.equal(h.processor.count('shardEnded'), 1);
      h.consumer.leaseLost();
      assert.equal(await run, 'LEASE_LOST');
      assert.equal(h.processor.count('shardEnded'), 1);
      assert.deepEqual(h.leases.checkpoints, []);
      await h.clock.advance(60_000);
      assert.equal(h.processor.count('shardEnded'), 1);
    });

    test('a lease whose checkpoint is already SHARD_END goes straight to shardEnded: no records source, no processRecords', async () => {
      // Note: Java skips InitializeTask (and even the shardEnded call, since the stored checkpoint already is
      // SHARD_END). Ours keeps the documented processor contract initialize → … → shardEnded, and the
      // checkpoint() inside shardEnded is a no-op because SHARD_END is already stored.
      const h = setup({ lease: { checkpoint: SHARD_END } });
      h.processor.onShardEnded = async ({ checkpointer }) => {
        await checkpointer.checkpoint();
      };
      const run = h.consumer.run();
      assert.equal(await outcome(run), 'SHARD_END');
      assert.deepEqual(h.processor.calls, ['initialize', 'shardEnded']);
      assert.deepEqual(h.sourceStarts, [], 'no records source is created');
      assert.equal(h.source.nextCalls, 0);
      assert.deepEqual(h.leases.checkpoints, [], 'SHARD_END is already stored: nothing to write');
      assert.equal(h.onShardEndCalls.length, 0, 'no children known: onShardEnd not called');
      assert.equal(h.clock.now(), 0);
    });
  });

  describe('waiting on parent shards', () => {
    test('a parent lease not at SHARD_END blocks initialize until it reaches SHARD_END (polled every parentShardPollIntervalMillis)', async () => {
      const h = setup({ lease: { parentShardIds: [PARENT] } });
      h.leases.leases.set(PARENT, makeLease({ leaseKey: PARENT, checkpoint: esn('999') }));
      const run = h.consumer.run();
      await flushMicrotasks();
      assert.deepEqual(h.processor.calls, []);
      assert.deepEqual(h.leases.getLeaseCalls, [PARENT]);
      assert.equal(h.consumer.state, 'WAITING_ON_PARENT_SHARDS');

      await h.clock.advance(10_000);
      assert.deepEqual(h.leases.getLeaseCalls, [PARENT, PARENT], 'polled again after the interval');
      assert.deepEqual(h.processor.calls, []);

      h.leases.leases.set(PARENT, makeLease({ leaseKey: PARENT, checkpoint: SHARD_END }));
      await h.clock.advance(9_999);
      assert.deepEqual(h.processor.calls, [], 'not before the next poll');
      assert.equal(h.leases.getLeaseCalls.length, 2);
      await h.clock.advance(1);
      assert.deepEqual(h.processor.calls, ['initialize']);
      assert.equal(h.leases.getLeaseCalls.length, 3);
      assert.equal(h.consumer.state, 'PROCESSING');
      h.consumer.requestShutdown();
      assert.equal(await run, 'REQUESTED');
    });

    test('a missing parent lease does not block', async () => {
      const h = setup({ lease: { parentShardIds: [PARENT] } });
      const run = h.consumer.run();
      await flushMicrotasks();
      assert.deepEqual(h.leases.getLeaseCalls, [PARENT]);
      assert.deepEqual(h.processor.calls, ['initialize']);
      h.consumer.requestShutdown();
      await run;
    });

    test('a merge waits for both parents', async () => {
      const other = 'shardId-000000000002';
      const h = setup({ lease: { parentShardIds: [PARENT, other] } });
      h.leases.leases.set(PARENT, makeLease({ leaseKey: PARENT, checkpoint: SHARD_END }));
      h.leases.leases.set(other, makeLease({ leaseKey: other, checkpoint: esn('5') }));
      const run = h.consumer.run();
      await flushMicrotasks();
      assert.deepEqual(h.processor.calls, []);
      h.leases.leases.delete(other); // finished and cleaned up
      await h.clock.advance(10_000);
      assert.deepEqual(h.processor.calls, ['initialize']);
      h.consumer.requestShutdown();
      await run;
    });

    test('lease lost while waiting on a parent ends with leaseLost (never initialized)', async () => {
      const h = setup({ lease: { parentShardIds: [PARENT] } });
      h.leases.leases.set(PARENT, makeLease({ leaseKey: PARENT, checkpoint: esn('5') }));
      const run = h.consumer.run();
      await flushMicrotasks();
      h.consumer.leaseLost();
      assert.equal(await outcome(run), 'LEASE_LOST');
      assert.deepEqual(h.processor.calls, ['leaseLost']);
      assert.equal(h.consumer.state, 'SHUTDOWN_COMPLETE');
    });
  });

  test('isHeld false when a batch arrives → leaseLost, the batch is not delivered', async () => {
    const h = setup();
    const run = h.consumer.run();
    await flushMicrotasks();
    h.source.push(batch(['100']));
    await flushMicrotasks();
    h.leases.held = false;
    h.source.push(batch(['101']));
    assert.equal(await outcome(run), 'LEASE_LOST');
    assert.deepEqual(h.processor.delivered, [['100']]);
    assert.deepEqual(h.processor.calls, ['initialize', 'processRecords', 'leaseLost']);
    assert.equal(h.consumer.delivered, 1);
  });

  test('calls are strictly serial: processRecords never overlaps, and shutdownRequested waits for it', async () => {
    const h = setup();
    const gates: Deferred<void>[] = [];
    h.processor.onProcessRecords = () => {
      const g = deferred();
      gates.push(g);
      return g.promise;
    };
    const run = h.consumer.run();
    await flushMicrotasks();
    h.source.push(batch(['1']), batch(['2']), batch(['3']));
    await flushMicrotasks();
    assert.equal(h.processor.count('processRecords'), 1, 'second batch waits for the first call');
    assert.equal(h.processor.inFlight, 1);
    gates[0]!.resolve();
    await flushMicrotasks();
    assert.equal(h.processor.count('processRecords'), 2);
    assert.equal(h.processor.inFlight, 1);
    h.consumer.requestShutdown();
    await flushMicrotasks();
    assert.equal(h.processor.count('shutdownRequested'), 0, 'shutdownRequested waits for the running processRecords');
    assert.equal(await outcome(run), 'pending');
    gates[1]!.resolve();
    assert.equal(await run, 'REQUESTED');
    assert.deepEqual(h.processor.calls, ['initialize', 'processRecords', 'processRecords', 'shutdownRequested']);
    assert.deepEqual(h.processor.delivered, [['1'], ['2']], 'no batch is delivered after the shutdown request');
    assert.equal(h.processor.maxInFlight, 1);
  });

  test('requestShutdown during initialize: shutdownRequested only after initialize returns, no records', async () => {
    const h = setup();
    const gate = deferred();
    h.processor.onInitialize = () => gate.promise;
    const run = h.consumer.run();
    await flushMicrotasks();
    h.consumer.requestShutdown();
    await flushMicrotasks();
    assert.deepEqual(h.processor.calls, ['initialize']);
    gate.resolve();
    assert.equal(await run, 'REQUESTED');
    assert.deepEqual(h.processor.calls, ['initialize', 'shutdownRequested']);
    assert.equal(h.processor.maxInFlight, 1);
  });

  test('requestShutdown when the lease may have expired by this worker\'s clock → leaseLost, not shutdownRequested', async () => {
    const h = setup();
    const run = h.consumer.run();
    await flushMicrotasks();
    // Cut off from the lease table past the failover time, then stopped: another worker may hold the shard.
    h.leases.held = false;
    h.consumer.requestShutdown();
    assert.equal(await outcome(run), 'LEASE_LOST');
    assert.deepEqual(h.processor.calls, ['initialize', 'leaseLost']);
  });

  test('requestShutdown while waiting for records ends promptly (no virtual time needed)', async () => {
    const h = setup();
    const run = h.consumer.run();
    await flushMicrotasks();
    assert.equal(h.source.waiting, true);
    h.consumer.requestShutdown();
    assert.equal(await outcome(run), 'REQUESTED');
    assert.deepEqual(h.processor.calls, ['initialize', 'shutdownRequested']);
    assert.equal(h.source.closeCalls, 1);
  });
});
