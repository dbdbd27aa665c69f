/**
 * The MultiLangDaemon end to end against the emulators, with real children: the official `aws-kcl` npm
 * client, and a Python client that behaves as amazon_kclpy does (test/fixtures/multilang/kclpy_mini.py).
 * Each failure case of a child is its own test: the failing shard is reported and restarted from its last
 * checkpoint, the other shards keep running, and no child process is left behind.
 */
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DescribeStreamSummaryCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { produceRecords, parseProducedRecord } from '../../src/local/producer.js';
import { LeaseTable } from '../../src/leases/lease-table.js';
import { systemClock } from '../../src/common/clock.js';
import type { KclConfigInput } from '../../src/config/config.js';
import type { DaemonConfigInput } from '../../src/multilang/daemon-config.js';
import { createTestStream, SKIP_REASON, testEnv, uniqueName, waitFor, workerConfig } from '../helpers/env.js';
import { fixture, startDaemon, stopDaemons, type ChildEvent, type DaemonRun } from '../helpers/multilang.js';
import { isAlive } from '../helpers/cli.js';

const env = testEnv();
after(() => env?.close());
afterEach(stopDaemons);

const PYTHON = `python3 ${fixture('kclpy_mini.py')}`;
const AWS_KCL = `${process.execPath} ${fixture('aws_kcl_processor.cjs')}`;

async function setUp(prefix: string, shards: number, count: number) {
  const e = env!;
  const stream = await createTestStream(e, prefix, shards);
  const produced = await produceRecords(e.kinesis, { stream, count, partitionKeys: 8 });
  return { stream, app: uniqueName('app'), runId: produced.runId };
}

function config(stream: string, app: string, executableName: string, extra: Partial<KclConfigInput & DaemonConfigInput> = {}): KclConfigInput & DaemonConfigInput {
  return { ...workerConfig(env!, stream, app, { maxRecords: 10, taskBackoffTimeMillis: 100 }), executableName, ...extra };
}

const recordIds = (events: ChildEvent[]) => new Set(events.filter((e) => e.event === 'record').map((e) => parseProducedRecord(Buffer.from(e.data ?? '')).id));

async function stopAndCheckNoChildren(run: DaemonRun): Promise<void> {
  await run.worker.shutdown();
  const pids = new Set(run.events().map((e) => e.pid));
  for (const pid of pids) await waitFor(`child ${pid} gone`, () => !isAlive(pid), 10_000);
}

async function checkpointsAtLastRecord(app: string, events: ChildEvent[]): Promise<void> {
  const last = new Map<string, string>();
  for (const e of events) if (e.event === 'record' && e.seq) last.set(e.shard, e.seq);
  const leases = await new LeaseTable(env!.dynamodb, app, systemClock).listLeases();
  for (const lease of leases) assert.equal(lease.checkpoint.sequenceNumber, last.get(lease.leaseKey), `${lease.leaseKey} checkpointed at its last record`);
}

describe('MultiLangDaemon with unmodified client libraries', { skip: env ? false : SKIP_REASON }, () => {
  for (const [name, executable] of [['a Python (kclpy-style) processor', PYTHON], ['an aws-kcl (npm) processor', AWS_KCL]] as const) {
    test(`${name}: every record delivered once, checkpoints stored, shutdownRequested on shutdown`, async () => {
      const { stream, app } = await setUp('ml-normal', 2, 60);
      const run = startDaemon(config(stream, app, executable), 'normal');
      await run.worker.start();
      await waitFor('60 records', () => recordIds(run.events()).size >= 60);
      await stopAndCheckNoChildren(run);
      const events = run.events();
      assert.equal(events.filter((e) => e.event === 'record').length, 60, 'no duplicates');
      const shards = ['shardId-000000000000', 'shardId-000000000001'];
      for (const shard of shards) {
        const seq = events.filter((e) => e.shard === shard).map((e) => e.event);
        assert.equal(seq[0], 'initialize');
        assert.ok(seq.includes('shutdown_requested'), `${shard} got shutdownRequested`);
      }
      await checkpointsAtLastRecord(app, events);
    });
  }

  test('aws-kcl: a checkpoint beyond the largest delivered record is answered IllegalArgumentException', async () => {
    const { stream, app } = await setUp('ml-beyond', 1, 10);
    const run = startDaemon(config(stream, app, AWS_KCL), 'checkpoint-beyond');
    await run.worker.start();
    const err = await waitFor('a checkpoint error', () => run.events().find((e) => e.event === 'checkpoint_error'));
    await stopAndCheckNoChildren(run);
    assert.equal(err.error, 'IllegalArgumentException');
  });

  test('Python: an explicit checkpoint (sequence and sub-sequence number) is stored', async () => {
    const { stream, app } = await setUp('ml-explicit', 1, 25);
    const run = startDaemon(config(stream, app, PYTHON), 'checkpoint-explicit');
    await run.worker.start();
    await waitFor('25 records', () => recordIds(run.events()).size >= 25);
    const events = run.events();
    const lastSeq = events.filter((e) => e.event === 'record').at(-1)!.seq!;
    const table = new LeaseTable(env!.dynamodb, app, systemClock);
    await waitFor('checkpoint at the last record', async () => (await table.getLease('shardId-000000000000'))?.checkpoint.sequenceNumber === lastSeq);
    await stopAndCheckNoChildren(run);
  });

  test('shard end: a split parent gets shardEnded, checkpoints SHARD_END, and its children are processed after it', async () => {
    const e = env!;
    const { stream, app } = await setUp('ml-split', 1, 20);
    const run = startDaemon(config(stream, app, AWS_KCL, { shardSyncIntervalMillis: 1000 }), 'normal');
    await run.worker.start();
    await waitFor('20 records', () => recordIds(run.events()).size >= 20);
    await e.kinesis.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: 'shardId-000000000000', NewStartingHashKey: (2n ** 127n).toString() }));
    await waitFor('stream active', async () => (await e.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }))).StreamDescriptionSummary?.StreamStatus === 'ACTIVE');
    await produceRecords(e.kinesis, { stream, count: 20, partitionKeys: 8 });
    await waitFor('40 records', () => recordIds(run.events()).size >= 40, 60_000);
    await stopAndCheckNoChildren(run);
    const events = run.events();
    const parentEnd = events.findIndex((x) => x.shard === 'shardId-000000000000' && x.event === 'shard_ended');
    assert.ok(parentEnd >= 0, 'the parent got shardEnded');
    const firstChildRecord = events.findIndex((x) => x.shard !== 'shardId-000000000000' && x.event === 'record');
    assert.ok(firstChildRecord > parentEnd, 'no child record before the parent finished');
    const parent = await new LeaseTable(e.dynamodb, app, systemClock).getLease('shardId-000000000000');
    assert.equal(parent?.checkpoint.sequenceNumber, 'SHARD_END');
    assert.deepEqual([...(parent?.childShardIds ?? [])].sort(), ['shardId-000000000001', 'shardId-000000000002']);
  });
});

describe('MultiLangDaemon when a child misbehaves', { skip: env ? false : SKIP_REASON }, () => {
  test('a child that crashes mid-batch is reported with its shard and exit code, restarted from the last checkpoint; the other shard is unaffected', async () => {
    const { stream, app } = await setUp('ml-crash', 2, 60);
    const crashing = 'shardId-000000000001';
    const run = startDaemon(config(stream, app, PYTHON), 'crash-mid-batch', { KCL_FIXTURE_ONLY_SHARD: crashing });
    const errors: string[] = [];
    run.worker.events.on('worker.error', ({ error, shardId }) => errors.push(`${shardId}: ${error.message}`));
    await run.worker.start();
    await waitFor('all 60 records', () => recordIds(run.events()).size >= 60, 60_000);
    await stopAndCheckNoChildren(run);
    assert.ok(errors.some((m) => m.startsWith(`${crashing}: child process for ${crashing} failed during processRecords: the child process exited (exit code 3)`)), errors.join('\n'));
    const events = run.events();
    const healthy = events.filter((x) => x.shard === 'shardId-000000000000');
    assert.equal(new Set(healthy.map((x) => x.pid)).size, 1, 'the other shard kept its one child');
    const healthySeqs = healthy.filter((x) => x.event === 'record').map((x) => x.seq);
    assert.ok(healthySeqs.length > 0);
    assert.equal(new Set(healthySeqs).size, healthySeqs.length, 'nothing redelivered on the other shard');
    assert.ok(!errors.some((m) => m.startsWith('shardId-000000000000')), 'no error on the other shard');
    const inits = events.filter((x) => x.event === 'initialize' && x.shard === crashing);
    const resumed = inits.filter((x) => x.seq !== 'TRIM_HORIZON');
    assert.ok(resumed.length > 0, 'a replacement child started from a checkpoint');
    for (const init of resumed) {
      const before = events.slice(0, events.indexOf(init)).filter((x) => x.shard === init.shard && x.event === 'checkpoint_ok');
      assert.ok(before.length > 0, 'a checkpoint preceded the restart');
    }
  });

  test('a child that exits right after initialize is reported and restarted with backoff; the daemon keeps running', async () => {
    const { stream, app } = await setUp('ml-exit', 1, 5);
    const run = startDaemon(config(stream, app, PYTHON), 'exit-after-initialize');
    const errors: string[] = [];
    run.worker.events.on('worker.error', ({ error }) => errors.push(error.message));
    await run.worker.start();
    await waitFor('three starts', () => run.events().filter((x) => x.event === 'initialize').length >= 3, 20_000);
    await stopAndCheckNoChildren(run);
    assert.ok(errors.some((m) => /failed during initialize: the child process exited \(exit code 0\)/.test(m)), errors.join('\n'));
    assert.equal(run.events().filter((x) => x.event === 'record').length, 0);
  });

  test('non-JSON lines on a child stdout are skipped and never taken as protocol', async () => {
    const { stream, app } = await setUp('ml-garbage', 1, 20);
    const run = startDaemon(config(stream, app, PYTHON), 'garbage');
    await run.worker.start();
    await waitFor('20 records', () => recordIds(run.events()).size >= 20);
    await stopAndCheckNoChildren(run);
    assert.equal(run.events().filter((x) => x.event === 'record').length, 20);
    assert.equal(new Set(run.events().map((x) => x.pid)).size, 1, 'the child was never restarted');
    await checkpointsAtLastRecord(app, run.events());
  });

  test('a status for the wrong action is reported and the child replaced', async () => {
    const { stream, app } = await setUp('ml-wrong', 1, 5);
    const run = startDaemon(config(stream, app, PYTHON), 'wrong-responsefor');
    const errors: string[] = [];
    run.worker.events.on('worker.error', ({ error }) => errors.push(error.message));
    await run.worker.start();
    await waitFor('a reported mismatch', () => errors.find((m) => /answered for "initialize" while "processRecords" was pending/.test(m)));
    await waitFor('a second child', () => new Set(run.events().map((x) => x.pid)).size >= 2);
    await stopAndCheckNoChildren(run);
  });

  test('a child silent past timeoutInSeconds is killed and replaced', async () => {
    const { stream, app } = await setUp('ml-silent', 1, 5);
    // 3 s, not less: on a loaded 2-core machine Python alone can take over a second to start, and a child that
    // times out initialize every time never reaches the processRecords this test is about.
    const run = startDaemon(config(stream, app, PYTHON, { timeoutInSeconds: 3 }), 'silent');
    const errors: string[] = [];
    run.worker.events.on('worker.error', ({ error }) => errors.push(error.message));
    await run.worker.start();
    // The first processRecords is the one it never answers (a slow start can also time out initialize first).
    await waitFor('a timeout', () => errors.find((m) => /during processRecords: no message from the child within 3 s/.test(m)), 30_000);
    const silentAt = run.events().findIndex((e) => e.event === 'record');
    const silentPid = run.events()[silentAt]!.pid;
    await waitFor('the silent child killed', () => !isAlive(silentPid));
    await waitFor('a new child for the shard', () => run.events().slice(silentAt).some((e) => e.event === 'initialize' && e.pid !== silentPid));
    await stopAndCheckNoChildren(run);
  });

  test('a checkpoint after the lease was taken by another worker is answered ShutdownException', async () => {
    const e = env!;
    const { stream, app } = await setUp('ml-stolen', 1, 5);
    const flag = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kcl-flag-')), 'flag');
    // A long failover keeps renewals 20 s apart, so the steal is seen first by the child's checkpoint.
    const run = startDaemon(config(stream, app, PYTHON, { failoverTimeMillis: 60_000 }), 'checkpoint-after-lease-loss', { KCL_FIXTURE_FLAG: flag });
    await run.worker.start();
    await waitFor('5 records', () => recordIds(run.events()).size >= 5);
    const table = new LeaseTable(e.dynamodb, app, systemClock);
    assert.ok(await table.takeLease((await table.getLease('shardId-000000000000'))!, 'other-worker'));
    fs.writeFileSync(flag, '');
    await produceRecords(e.kinesis, { stream, count: 5 });
    const err = await waitFor('the checkpoint error', () => run.events().find((x) => x.event === 'checkpoint_error'));
    assert.equal(err.error, 'ShutdownException');
    await waitFor('leaseLost', () => run.events().some((x) => x.event === 'lease_lost'));
    await stopAndCheckNoChildren(run);
  });

  test('a shard that ends without a SHARD_END checkpoint is never marked finished, and shardEnded is repeated', async () => {
    const e = env!;
    const { stream, app } = await setUp('ml-noend', 1, 5);
    const run = startDaemon(config(stream, app, PYTHON), 'no-shard-end-checkpoint');
    await run.worker.start();
    await waitFor('5 records', () => recordIds(run.events()).size >= 5);
    await e.kinesis.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: 'shardId-000000000000', NewStartingHashKey: (2n ** 127n).toString() }));
    await waitFor('shardEnded twice', () => run.events().filter((x) => x.event === 'shard_ended').length >= 2, 30_000);
    const parent = await new LeaseTable(e.dynamodb, app, systemClock).getLease('shardId-000000000000');
    assert.notEqual(parent?.checkpoint.sequenceNumber, 'SHARD_END');
    assert.equal(run.events().filter((x) => x.event === 'record' && x.shard !== 'shardId-000000000000').length, 0, 'children wait');
    await stopAndCheckNoChildren(run);
  });

  test('a child that closes its stdout but keeps running is reported, killed and replaced', async () => {
    const { stream, app } = await setUp('ml-close', 1, 5);
    const run = startDaemon(config(stream, app, PYTHON), 'close-stdout');
    const errors: string[] = [];
    run.worker.events.on('worker.error', ({ error }) => errors.push(error.message));
    await run.worker.start();
    await waitFor('a report', () => errors.find((m) => /failed during processRecords: the child closed its stdout \(signal SIGKILL\)/.test(m)));
    const firstPid = run.events()[0]!.pid;
    await waitFor('the child killed', () => !isAlive(firstPid));
    await waitFor('a second child', () => new Set(run.events().map((x) => x.pid)).size >= 2);
    await stopAndCheckNoChildren(run);
  });

  test('a sequence number sent as a JSON number beyond 2^53 is checkpointed exactly', async () => {
    const { stream, app } = await setUp('ml-bignum', 1, 10);
    const run = startDaemon(config(stream, app, PYTHON), 'checkpoint-numeric');
    await run.worker.start();
    await waitFor('10 records', () => recordIds(run.events()).size >= 10);
    const lastSeq = run.events().filter((x) => x.event === 'record').at(-1)!.seq!;
    assert.ok(BigInt(lastSeq) > 2n ** 53n);
    const table = new LeaseTable(env!.dynamodb, app, systemClock);
    await waitFor('the exact checkpoint', async () => (await table.getLease('shardId-000000000000'))?.checkpoint.sequenceNumber === lastSeq);
    // The child logs the daemon's answer just after the write it reports: wait for it, not for the table alone.
    await waitFor('the child to hear its checkpoint succeeded', () => run.events().some((x) => x.event === 'checkpoint_ok'));
    assert.ok(!run.events().some((x) => x.event === 'checkpoint_error'));
    await stopAndCheckNoChildren(run);
  });
});
