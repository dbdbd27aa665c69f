/**
 * The status model (src/status/model.ts): the snapshot built from events only, under a virtual clock for the
 * rate samples. Covers owners and states from scans and own events, counts and rates, moves and errors, and the
 * bounds on what it keeps.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/common/clock.js';
import { KclEvents, type LeaseView } from '../../src/common/events.js';
import { extendedSequenceNumber, SHARD_END, TRIM_HORIZON } from '../../src/checkpoint/sequence.js';
import { StatusModel } from '../../src/status/model.js';
import type { ShardStatus } from '../../src/status/types.js';

function setUp(options: { samples?: number; recentLimit?: number; goneWorkerMillis?: number } = {}) {
  const clock = new VirtualClock(new Date('2026-03-01T10:00:00Z'));
  const events = new KclEvents((err) => {
    throw err;
  });
  const model = new StatusModel(events.readOnly(), { application: 'app', stream: 'words', workerId: 'w1', retrievalMode: 'POLLING', clock, sampleSeconds: 5, ...options });
  const shard = (id: string): ShardStatus => {
    const found = model.snapshot().shards.find((s) => s.shardId === id);
    assert.ok(found, `${id} in the snapshot`);
    return found;
  };
  return { clock, events, model, shard };
}

function lease(leaseKey: string, leaseOwner: string | undefined, extra: Partial<LeaseView> = {}): LeaseView {
  return { leaseKey, leaseOwner, leaseCounter: 1, checkpoint: TRIM_HORIZON, parentShardIds: [], ...extra };
}

const scanned = (leases: LeaseView[], workers: string[]) => ({ workerId: 'w1', leases, workers, wanted: 0, moved: 0, scanMillis: 2 });

describe('status model', () => {
  test('before any event: the application, this worker, no shards', () => {
    const { model } = setUp();
    assert.deepEqual(model.snapshot(), {
      application: 'app',
      stream: 'words',
      workerId: 'w1',
      retrievalMode: 'POLLING',
      generatedAt: '2026-03-01T10:00:00.000Z',
      sampleSeconds: 5,
      workers: [{ workerId: 'w1', leases: 0, alive: true, self: true }],
      shards: [],
      recentMoves: [],
      recentErrors: [],
      totals: { records: 0, recordsPerSecond: 0 },
    });
  });

  test('a scan gives every shard its owner and state, and every worker its lease count', async () => {
    const { events, model, clock } = setUp();
    await clock.advance(1_000);
    events.emit('leases.scanned', scanned([
      lease('s0', 'w2', { checkpoint: extendedSequenceNumber('100', 3) }),
      lease('s1', 'w2'),
      lease('s2', undefined),
      lease('s3', 'w3'), // w3 is not alive: its lease is up for taking
      lease('s4', 'w2', { checkpoint: SHARD_END }),
      lease('s5', 'w2', { checkpointOwner: 'w1' }),
    ], ['w1', 'w2']));
    const snap = model.snapshot();
    assert.equal(snap.scannedAt, '2026-03-01T10:00:01.000Z');
    assert.deepEqual(
      snap.shards.map((s) => [s.shardId, s.owner, s.state, s.checkpoint]),
      [
        ['s0', 'w2', 'owned-elsewhere', '100/3'],
        ['s1', 'w2', 'owned-elsewhere', 'TRIM_HORIZON'],
        ['s2', undefined, 'unowned', 'TRIM_HORIZON'],
        ['s3', 'w3', 'unowned', 'TRIM_HORIZON'],
        ['s4', 'w2', 'shard-end', 'SHARD_END'],
        ['s5', 'w2', 'handoff-pending', 'TRIM_HORIZON'],
      ],
    );
    assert.deepEqual(snap.workers, [
      { workerId: 'w1', leases: 0, alive: true, self: true },
      { workerId: 'w2', leases: 4, alive: true, self: false },
      { workerId: 'w3', leases: 1, alive: false, self: false },
    ]);
    assert.ok(snap.shards.every((s) => s.recordsPerSecond.length === 0 && s.millisBehindLatest === undefined), 'no rate or lag for shards that are not ours');
  });

  test('own lease events beat an older scan: acquired, waiting on parents, processing, hand-off pending, shard end, released', () => {
    const { events, shard } = setUp();
    events.emit('leases.scanned', scanned([lease('s0', undefined), lease('s1', 'w1'), lease('c2', undefined, { parentShardIds: ['s1'] })], ['w1']));
    events.emit('lease.acquired', { leaseKey: 's0', workerId: 'w1' });
    events.emit('lease.acquired', { leaseKey: 'c2', workerId: 'w1' });
    assert.equal(shard('s0').owner, 'w1');
    assert.equal(shard('s0').state, 'processing');
    assert.equal(shard('c2').state, 'waiting-on-parents');
    events.emit('processor.initialized', { shardId: 'c2', checkpoint: TRIM_HORIZON });
    assert.equal(shard('c2').state, 'processing');
    events.emit('lease.handoffRequested', { leaseKey: 's0', workerId: 'w1', to: 'w2' });
    assert.equal(shard('s0').state, 'handoff-pending');
    events.emit('lease.released', { leaseKey: 's0', workerId: 'w1', to: 'w2' });
    assert.deepEqual([shard('s0').owner, shard('s0').state], ['w2', 'owned-elsewhere'], 'handed to w2, which asked for it: alive before any scan lists it');

    // s1: the scan says ours, but we have not acquired it (we released it just before): nobody holds it now.
    events.emit('lease.acquired', { leaseKey: 's1', workerId: 'w1' });
    events.emit('shard.ended', { shardId: 's1', childShardIds: ['c2'] });
    assert.equal(shard('s1').state, 'shard-end');
    events.emit('checkpoint.written', { shardId: 's1', checkpoint: SHARD_END, millis: 3 });
    events.emit('lease.released', { leaseKey: 's1', workerId: 'w1' });
    assert.deepEqual([shard('s1').owner, shard('s1').state, shard('s1').checkpoint], [undefined, 'shard-end', 'SHARD_END'], 'the checkpoint written beats the older scan');

    // The next scan is the truth for leases that are not ours.
    events.emit('leases.scanned', scanned([lease('s0', 'w2'), lease('s1', undefined, { checkpoint: SHARD_END }), lease('c2', 'w1', { parentShardIds: ['s1'] })], ['w1', 'w2']));
    assert.deepEqual([shard('s0').owner, shard('s0').state], ['w2', 'owned-elsewhere']);
  });

  test('a hand-off this worker asked for shows as pending until the scan shows none', () => {
    const { events, shard } = setUp();
    events.emit('leases.scanned', scanned([lease('s0', 'w2')], ['w1', 'w2']));
    events.emit('lease.handoffInitiated', { leaseKey: 's0', workerId: 'w1', from: 'w2' });
    assert.equal(shard('s0').state, 'handoff-pending');
    events.emit('leases.scanned', scanned([lease('s0', 'w2')], ['w1', 'w2']));
    assert.equal(shard('s0').state, 'owned-elsewhere', 'withdrawn');
  });

  test('counts, lag and records per second sampled every 5 s from the shard\'s acquisition; totals', async () => {
    const { events, model, clock, shard } = setUp();
    await clock.advance(2_000); // acquired inside the first bucket [0, 5 s)
    events.emit('lease.acquired', { leaseKey: 's0', workerId: 'w1' });
    events.emit('lease.acquired', { leaseKey: 's1', workerId: 'w1' });
    events.emit('records.delivered', { shardId: 's0', count: 10, bytes: 100, millisBehindLatest: 900 });
    await clock.advance(1_000);
    events.emit('records.delivered', { shardId: 's0', count: 15, bytes: 150, millisBehindLatest: 400 });
    events.emit('records.delivered', { shardId: 's1', count: 0, bytes: 0, millisBehindLatest: 0 });
    assert.deepEqual(shard('s0').recordsPerSecond, [], 'no complete sample yet');
    assert.equal(shard('s0').records, 25);
    assert.equal(shard('s0').millisBehindLatest, 400);
    assert.equal(shard('s0').lastRecordAt, '2026-03-01T10:00:03.000Z');
    assert.equal(shard('s1').lastRecordAt, undefined, 'an empty poll is not a record');
    assert.equal(shard('s1').millisBehindLatest, 0);

    await clock.advance(5_000); // 8 s: bucket 1
    events.emit('records.delivered', { shardId: 's0', count: 50, bytes: 1, millisBehindLatest: 0 });
    await clock.advance(10_000); // 18 s: bucket 3; bucket 2 was empty
    assert.deepEqual(shard('s0').recordsPerSecond, [5, 10, 0]);
    assert.deepEqual(shard('s1').recordsPerSecond, [0, 0, 0]);
    assert.deepEqual(model.snapshot().totals, { records: 75, recordsPerSecond: 0 });
    events.emit('records.delivered', { shardId: 's1', count: 20, bytes: 1, millisBehindLatest: 0 });
    await clock.advance(5_000);
    assert.deepEqual(model.snapshot().totals, { records: 95, recordsPerSecond: 4 });

    // Not ours any more: the count stays (delivered since this worker started), the chart and the lag go.
    events.emit('lease.lost', { leaseKey: 's0', workerId: 'w1', reason: 'taken' });
    assert.deepEqual([shard('s0').records, shard('s0').recordsPerSecond, shard('s0').millisBehindLatest], [75, [], undefined]);
  });

  test('the chart keeps the configured number of samples', async () => {
    const { events, clock, shard } = setUp({ samples: 4 });
    events.emit('lease.acquired', { leaseKey: 's0', workerId: 'w1' });
    for (let i = 1; i <= 10; i++) {
      events.emit('records.delivered', { shardId: 's0', count: i * 5, bytes: 1, millisBehindLatest: 0 });
      await clock.advance(5_000);
    }
    assert.deepEqual(shard('s0').recordsPerSecond, [7, 8, 9, 10]);
  });

  test('moves: taken, stolen (from a live worker), taken from a gone one, lost, released, handed off; newest first and bounded', async () => {
    const { events, model, clock } = setUp({ recentLimit: 5 });
    events.emit('leases.scanned', scanned([lease('s0', 'w2'), lease('s1', 'w3'), lease('s2', undefined), lease('s3', 'w2')], ['w1', 'w2']));
    events.emit('lease.acquired', { leaseKey: 's2', workerId: 'w1' });
    await clock.advance(1);
    events.emit('lease.acquired', { leaseKey: 's0', workerId: 'w1', stolenFrom: 'w2' });
    await clock.advance(1);
    events.emit('lease.acquired', { leaseKey: 's1', workerId: 'w1', stolenFrom: 'w3' });
    await clock.advance(1);
    events.emit('lease.lost', { leaseKey: 's0', workerId: 'w1', reason: 'taken' });
    await clock.advance(1);
    events.emit('lease.released', { leaseKey: 's1', workerId: 'w1' });
    await clock.advance(1);
    events.emit('lease.released', { leaseKey: 's2', workerId: 'w1', to: 'w2' });
    const moves = model.snapshot().recentMoves;
    assert.deepEqual(moves, [
      { at: '2026-03-01T10:00:00.005Z', leaseKey: 's2', kind: 'handed_off', from: 'w1', to: 'w2' },
      { at: '2026-03-01T10:00:00.004Z', leaseKey: 's1', kind: 'released', from: 'w1' },
      { at: '2026-03-01T10:00:00.003Z', leaseKey: 's0', kind: 'lost', from: 'w1' },
      { at: '2026-03-01T10:00:00.002Z', leaseKey: 's1', kind: 'taken', from: 'w3', to: 'w1' },
      { at: '2026-03-01T10:00:00.001Z', leaseKey: 's0', kind: 'stolen', from: 'w2', to: 'w1' },
    ]);
    // A lease taken after its owner released it names that owner, as the last scan saw it.
    events.emit('lease.acquired', { leaseKey: 's3', workerId: 'w1' });
    assert.deepEqual(model.snapshot().recentMoves[0], { at: '2026-03-01T10:00:00.005Z', leaseKey: 's3', kind: 'taken', from: 'w2', to: 'w1' });
  });

  test('a lease handed to another worker and released by it comes back from that worker, though no scan showed it there', () => {
    const { events, model } = setUp();
    events.emit('leases.scanned', scanned([lease('s0', undefined)], ['w1']));
    events.emit('lease.acquired', { leaseKey: 's0', workerId: 'w1' });
    events.emit('leases.scanned', scanned([lease('s0', 'w1')], ['w1', 'w2']));
    events.emit('lease.released', { leaseKey: 's0', workerId: 'w1', to: 'w2' });
    // w2 shuts down and releases s0 before this worker scans again: the take finds the lease without an owner.
    events.emit('lease.acquired', { leaseKey: 's0', workerId: 'w1' });
    assert.deepEqual(
      model.snapshot().recentMoves.map((m) => [m.kind, m.from, m.to]),
      [['taken', 'w2', 'w1'], ['handed_off', 'w1', 'w2'], ['taken', undefined, 'w1']],
    );
  });

  test('errors from worker.error, retrieval.failing and lease.renewalsFailing; newest first, bounded, long messages cut', () => {
    const { events, model } = setUp({ recentLimit: 3 });
    events.emit('worker.error', { error: new Error('old'), where: 'shard sync' });
    events.emit('worker.error', { error: new Error('processRecords threw'), shardId: 's0', where: 'processRecords' });
    events.emit('retrieval.failing', { shardId: 's1', error: new Error('x'.repeat(2_000)), failingForMillis: 10 });
    events.emit('lease.renewalsFailing', { workerId: 'w1', leaseKeys: ['s0', 's1'], error: new Error('DynamoDB unreachable'), failingForMillis: 3000 });
    const errors = model.snapshot().recentErrors;
    assert.equal(errors.length, 3);
    assert.deepEqual(errors[0], { at: '2026-03-01T10:00:00.000Z', where: 'renewing leases s0, s1', message: 'DynamoDB unreachable' });
    assert.equal(errors[1]!.where, 'reading records');
    assert.equal(errors[1]!.shardId, 's1');
    assert.ok(errors[1]!.message.length <= 501);
    assert.deepEqual(errors[2], { at: '2026-03-01T10:00:00.000Z', where: 'processRecords', shardId: 's0', message: 'processRecords threw' });
  });

  test('a worker that stops being seen alive stays listed as gone for a while, then is forgotten; deleted leases leave', async () => {
    const { events, model, clock } = setUp({ goneWorkerMillis: 60_000 });
    events.emit('leases.scanned', scanned([lease('s0', 'w2'), lease('s1', 'w1')], ['w1', 'w2']));
    events.emit('lease.acquired', { leaseKey: 's1', workerId: 'w1' });
    events.emit('records.delivered', { shardId: 's1', count: 3, bytes: 3, millisBehindLatest: 0 });
    // w2 stopped gracefully: its lease is released, and it is no longer among the live workers.
    await clock.advance(10_000);
    events.emit('leases.scanned', scanned([lease('s0', undefined), lease('s1', 'w1')], ['w1']));
    assert.deepEqual(model.snapshot().workers.find((w) => w.workerId === 'w2'), { workerId: 'w2', leases: 0, alive: false, self: false });
    await clock.advance(61_000);
    events.emit('leases.scanned', scanned([lease('s0', undefined), lease('s1', 'w1')], ['w1']));
    assert.deepEqual(model.snapshot().workers.map((w) => w.workerId), ['w1']);

    events.emit('lease.released', { leaseKey: 's1', workerId: 'w1' });
    events.emit('lease.deleted', { leaseKey: 's1' });
    events.emit('leases.scanned', scanned([lease('s0', undefined)], ['w1']));
    assert.deepEqual(model.snapshot().shards.map((s) => s.shardId), ['s0']);
  });

  test('close() stops listening; the snapshot is JSON as is', () => {
    const { events, model } = setUp();
    model.close();
    events.emit('lease.acquired', { leaseKey: 's0', workerId: 'w1' });
    const snap = model.snapshot();
    assert.deepEqual(snap.shards, []);
    assert.deepEqual(JSON.parse(JSON.stringify(snap)), snap);
  });
});
