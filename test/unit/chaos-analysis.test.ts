/**
 * The chaos run's judge (bench/chaos/analysis.ts) on hand-made logs: each verdict it prints must be able to
 * fail, so each is shown failing here as well as passing.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeChaos, formatChaosReport, type ChaosInput } from '../../bench/chaos/analysis.js';
import type { ChaosLine, DeliveredRecord, Fault, NetFaultKind } from '../../bench/chaos/log.js';

const init = (w: string, s: string, shard: string, t: number): ChaosLine => ({ e: 'init', w, s, shard, cp: 'TRIM_HORIZON', cpSub: 0, t });
/** Records n (key n % 2, per-key counter n / 2), sequence number 100 + n. */
const recs = (w: string, s: string, shard: string, t: number, ns: number[]): ChaosLine => ({
  e: 'recs',
  w,
  s,
  shard,
  t,
  r: ns.map((n): DeliveredRecord => [n, n % 2, Math.floor(n / 2), String(100 + n), 0]),
});
const cp = (w: string, s: string, shard: string, t: number, n: number): ChaosLine => ({ e: 'cp', w, s, shard, seq: String(100 + n), sub: 0, t });
const end = (w: string, s: string, shard: string, t: number, reason: 'leaseLost' | 'shardEnded' | 'shutdownRequested'): ChaosLine => ({ e: 'end', w, s, shard, reason, t });

function input(lines: ChaosLine[], faults: Fault[], produced: number): ChaosInput {
  return { produced, lines, faults, failoverMillis: 10_000, run: { from: 0, to: 60_000, shards: 1 } };
}

/** A partition of `w` (id `id`) from `from` to `to`, on DynamoDB unless told. */
const cut = (w: string, id: number, from: number, to: number, fault: NetFaultKind = 'blackhole', services: ('dynamodb' | 'kinesis')[] = ['dynamodb']): Fault[] => [
  { kind: 'partition', w, t: from, net: { id, fault, services } },
  { kind: 'heal', w, t: to, net: { id, fault, services } },
];
/** a's session ends gracefully without a checkpoint; b delivers its records again. */
const redoneAfterShutdown = [
  init('a', 'a#1', 's0', 0),
  recs('a', 'a#1', 's0', 100, [0, 1]),
  end('a', 'a#1', 's0', 160, 'shutdownRequested'),
  init('b', 'b#1', 's0', 1000),
  recs('b', 'b#1', 's0', 1100, [0, 1]),
];
/** a and b both deliver s0 between 200 and 300 ms. */
const overlapping = [
  init('a', 'a#1', 's0', 0),
  recs('a', 'a#1', 's0', 100, [0]),
  init('b', 'b#1', 's0', 150),
  recs('b', 'b#1', 's0', 200, [1]),
  recs('a', 'a#1', 's0', 300, [2]),
  recs('b', 'b#1', 's0', 400, [3]),
];
/** Failover 10 s, so a healed worker has recoveryBoundMillis = 35 s to show it works again. */
const BOUND = 35_000;

describe('chaos analysis', () => {
  test('a clean run: nothing lost, no duplicates, PASS', () => {
    const lines = [init('a', 'a#1', 's0', 0), recs('a', 'a#1', 's0', 100, [0, 1, 2, 3]), cp('a', 'a#1', 's0', 200, 3)];
    const r = analyzeChaos(input(lines, [], 4));
    assert.equal(r.lost, 0);
    assert.equal(r.duplicates, 0);
    assert.ok(formatChaosReport(r, 10_000).passed);
  });

  test('a record never delivered is lost, and the run fails', () => {
    const r = analyzeChaos(input([init('a', 'a#1', 's0', 0), recs('a', 'a#1', 's0', 100, [0, 2])], [], 3));
    assert.equal(r.lost, 1);
    assert.deepEqual(r.lostSample, [1]);
    assert.ok(!formatChaosReport(r, 10_000).passed);
  });

  test('records past the last checkpoint redone after a SIGKILL are explained; counted per takeover', () => {
    const lines = [
      init('a', 'a#1', 's0', 0),
      recs('a', 'a#1', 's0', 100, [0, 1]),
      cp('a', 'a#1', 's0', 150, 1),
      recs('a', 'a#1', 's0', 200, [2, 3]),
      init('b', 'b#1', 's0', 12_000),
      recs('b', 'b#1', 's0', 12_100, [2, 3, 4]),
    ];
    const r = analyzeChaos(input(lines, [{ kind: 'kill', w: 'a', t: 1000 }], 5));
    assert.equal(r.duplicates, 2);
    assert.equal(r.duplicatesExplained, 2);
    assert.equal(r.maxRedoneRecords, 2);
    assert.equal(r.failover.crash.all.count, 1);
    assert.equal(r.failover.crash.all.max, 11_100);
    assert.ok(formatChaosReport(r, 10_000).passed);
  });

  test('a record delivered again although its checkpoint was written is unexplained (a lost checkpoint)', () => {
    const lines = [
      init('a', 'a#1', 's0', 0),
      recs('a', 'a#1', 's0', 100, [0, 1]),
      cp('a', 'a#1', 's0', 150, 1),
      end('a', 'a#1', 's0', 160, 'shutdownRequested'),
      init('b', 'b#1', 's0', 1000),
      recs('b', 'b#1', 's0', 1100, [1, 2]),
    ];
    const r = analyzeChaos(input(lines, [], 3));
    assert.equal(r.duplicatesUnexplained, 1);
    assert.ok(!formatChaosReport(r, 10_000).passed);
  });

  test('a duplicate after a graceful end without a crash or pause is unexplained even without a checkpoint', () => {
    assert.equal(analyzeChaos(input(redoneAfterShutdown, [], 2)).duplicatesUnexplained, 2);
  });

  test('order: a session going backwards, and a key whose later record arrives first', () => {
    const backwards = analyzeChaos(input([init('a', 'a#1', 's0', 0), recs('a', 'a#1', 's0', 100, [0, 2]), recs('a', 'a#1', 's0', 200, [1])], [], 3));
    assert.equal(backwards.sessionOrderViolations, 1);
    // Key 0 holds records 0, 2, 4 (counters 0, 1, 2): record 4 on one shard before record 2 on another.
    const keyOrder = analyzeChaos(
      input([init('a', 'a#1', 's0', 0), recs('a', 'a#1', 's0', 100, [0, 4]), init('b', 'b#1', 's1', 0), recs('b', 'b#1', 's1', 200, [2])], [], 5),
    );
    assert.equal(keyOrder.keyOrderViolations, 1);
    assert.equal(keyOrder.sessionOrderViolations, 0);
  });

  test('two workers delivering one shard at the same time is an overlap, allowed only right after a pause', () => {
    const lines = overlapping;
    const plain = analyzeChaos(input(lines, [], 4));
    assert.equal(plain.overlaps.count, 1);
    assert.equal(plain.overlaps.afterPause, 0);
    assert.ok(!formatChaosReport(plain, 10_000).passed);
    const paused = analyzeChaos(input(lines, [{ kind: 'stop', w: 'a', t: 50 }, { kind: 'cont', w: 'a', t: 250 }], 4));
    assert.equal(paused.overlaps.afterPause, 1);
  });

  test('balance after scale-out: the first moment every shard is processed and counts differ by at most one', () => {
    const lines = [
      init('a', 'a#1', 's0', 0),
      init('a', 'a#2', 's1', 0),
      init('a', 'a#3', 's2', 0),
      end('a', 'a#2', 's1', 3000, 'shutdownRequested'),
      init('b', 'b#1', 's1', 3500),
    ];
    const r = analyzeChaos({ ...input(lines, [], 0), scaleOut: { t: 1000, workers: ['a', 'b'], shards: 3 } });
    assert.equal(r.balanceMillis, 2500);
  });

  test('lease-table calls per shard-minute come from the workers\' cumulative counters inside the window', () => {
    const calls = (w: string, t: number, renew: number, checkpoint: number, scan: number): ChaosLine => ({
      e: 'calls',
      w,
      t,
      calls: { scan, get: 0, put: 0, update: renew + checkpoint, delete: 0, updates: { renew, checkpoint } },
    });
    const lines = [calls('a', 0, 0, 0, 0), calls('a', 60_000, 18, 60, 3), calls('b', 0, 5, 0, 1), calls('b', 60_000, 23, 0, 4)];
    const r = analyzeChaos({ ...input(lines, [], 0), calm: { from: 0, to: 60_000, shards: 2, workers: 2 } });
    assert.equal(r.calls?.calm?.perShardMinute, (18 + 60 + 3 + 18 + 3) / 2);
    assert.equal(r.calls?.calm?.perShardMinuteWithoutCheckpoints, (18 + 3 + 18 + 3) / 2);
  });

  test('a partitioned worker that processes records again after the heal has recovered; one that does nothing is stuck', () => {
    const before = [init('a', 'a#1', 's0', 0), recs('a', 'a#1', 's0', 100, [0])];
    const faults = cut('a', 1, 1000, 5000);
    const back = analyzeChaos({ ...input([...before, recs('a', 'a#1', 's0', 6500, [1])], faults, 2), run: { from: 0, to: 60_000, shards: 1 } });
    assert.deepEqual(
      back.network.recoveries.map((r) => [r.w, r.status, r.millis]),
      [['a', 'processed', 1500]],
    );
    assert.equal(back.network.byKind.blackhole?.recovery.max, 1500);
    assert.ok(formatChaosReport(back, 10_000).passed);
    // Same heal, and then silence for longer than the bound while it still holds s0: stuck.
    const stuck = analyzeChaos({ ...input([...before, recs('b', 'b#1', 's1', 50_000, [1])], faults, 2), run: { from: 0, to: 5000 + BOUND + 1, shards: 1 } });
    assert.deepEqual(
      stuck.network.recoveries.map((r) => r.status),
      ['stuck'],
    );
    const report = formatChaosReport(stuck, 10_000);
    assert.ok(!report.passed);
    assert.match(report.lines.at(-1)!, /1 partitioned workers stuck/);
    // Before the bound has passed it is not judged yet (the harness waits for this).
    const early = analyzeChaos({ ...input(before, faults, 1), run: { from: 0, to: 6000, shards: 1 } });
    assert.deepEqual(
      early.network.recoveries.map((r) => r.status),
      ['pending'],
    );
  });

  test('after a heal: taking a lease counts, having no share counts, being stopped counts, exiting does not; a SIGSTOP stretches the bound', () => {
    const faults = cut('a', 1, 1000, 5000);
    const run = { from: 0, to: 100_000, shards: 2 };
    const leased = analyzeChaos({ ...input([init('a', 'a#1', 's0', 0), { e: 'lease', w: 'a', kind: 'acquired', shard: 's1', t: 9000 }], faults, 0), run });
    assert.deepEqual(
      leased.network.recoveries.map((r) => [r.status, r.millis]),
      [['leased', 4000]],
    );
    // a lost s0 to b; b and c hold one shard each, so a has nothing to take: no share, not stuck.
    const shared = [init('a', 'a#1', 's0', 0), end('a', 'a#1', 's0', 3000, 'leaseLost'), init('b', 'b#1', 's0', 4000), init('c', 'c#1', 's1', 0)];
    assert.equal(analyzeChaos({ ...input(shared, faults, 0), run }).network.recoveries[0]!.status, 'noShare');
    // b holding two shards while a holds none: a should have taken one.
    const unfair = [...shared.slice(0, 3), init('b', 'b#2', 's1', 0)];
    assert.equal(analyzeChaos({ ...input(unfair, faults, 0), run }).network.recoveries[0]!.status, 'stuck');
    assert.ok(!formatChaosReport(analyzeChaos({ ...input(unfair, faults, 0), run }), 10_000).passed);
    // SIGTERMed before showing anything: its exit is judged instead.
    const termed = [...faults, { kind: 'term', w: 'a', t: 20_000 } as Fault];
    assert.equal(analyzeChaos({ ...input(unfair, termed, 0), exits: [{ w: 'a', t: 21_000 }], run }).network.recoveries[0]!.status, 'stopped');
    // Exiting with no signal from the harness (a start that gave up on the network) is a failure.
    const gaveUp = analyzeChaos({ ...input(unfair, faults, 0), exits: [{ w: 'a', t: 3000 }], run });
    assert.equal(gaveUp.network.recoveries[0]!.status, 'exited');
    assert.match(formatChaosReport(gaveUp, 10_000).lines.at(-1)!, /1 partitioned workers exited on their own/);
    // A 30 s SIGSTOP right after the heal: a first record 50 s after the heal is still in time.
    const paused = [...faults, { kind: 'stop', w: 'a', t: 6000 } as Fault, { kind: 'cont', w: 'a', t: 36_000 } as Fault];
    const late = [init('a', 'a#1', 's0', 0), recs('a', 'a#1', 's0', 55_000, [0])];
    assert.equal(analyzeChaos({ ...input(late, paused, 1), run }).network.recoveries[0]!.status, 'processed');
    assert.equal(analyzeChaos({ ...input(late, faults, 1), run }).network.recoveries[0]!.status, 'stuck');
  });

  test('per fault kind: the longest stall of each shard the worker held, from the fault to its first delivery after the heal', () => {
    // a keeps delivering s0 for 2 s into a DynamoDB cut, then b takes over 4 s later; after the heal at 8 s, b goes on.
    const lines = [
      init('a', 'a#1', 's0', 0),
      recs('a', 'a#1', 's0', 900, [0]),
      recs('a', 'a#1', 's0', 2000, [1]),
      recs('a', 'a#1', 's0', 3000, [2]),
      end('a', 'a#1', 's0', 3100, 'leaseLost'),
      init('b', 'b#1', 's0', 6500),
      recs('b', 'b#1', 's0', 7000, [3]),
      recs('b', 'b#1', 's0', 8500, [4]),
      recs('b', 'b#1', 's0', 30_000, [5]),
    ];
    const faults: Fault[] = [
      ...cut('a', 1, 1000, 8000, 'half-open'),
      // one partition of two workers: counted once
      ...cut('b', 2, 40_000, 41_000, 'refuse', ['dynamodb', 'kinesis']),
      ...cut('c', 2, 40_000, 41_000, 'refuse', ['dynamodb', 'kinesis']),
    ];
    const r = analyzeChaos(input(lines, faults, 6));
    assert.equal(r.network.partitions, 2);
    assert.equal(r.faultCounts.partition, 2);
    assert.equal(r.faultCounts.heal, 2);
    const halfOpen = r.network.byKind['half-open']!;
    assert.deepEqual(halfOpen.shardPause, { count: 1, min: 4000, median: 4000, max: 4000 });
    assert.deepEqual(halfOpen.services, { dynamodb: 1 });
    assert.deepEqual(r.network.byKind.refuse?.services, { 'dynamodb+kinesis': 1 });
    const line = formatChaosReport(r, 10_000).lines.find((l) => l.startsWith('partition half-open'));
    assert.match(line ?? '', /longest stall of an affected shard min 4\.0 s/);
  });

  test('two workers on one shard around a partition is an overlap, not excused (the cut-off worker stops by its own clock)', () => {
    const r = analyzeChaos(input(overlapping, cut('a', 1, 50, 250), 4));
    assert.equal(r.overlaps.count, 1);
    assert.equal(r.overlaps.afterPause, 0);
    assert.equal(r.overlaps.duringPartition, 1);
    assert.ok(!formatChaosReport(r, 10_000).passed);
  });

  test('with fan-out a healed worker has the event timeout longer: a half-open subscription is noticed only by it', () => {
    const before = [init('a', 'a#1', 's0', 0), recs('a', 'a#1', 's0', 100, [0])];
    const faults = cut('a', 1, 1000, 5000, 'half-open', ['kinesis']);
    // Silent past the polling bound, back within it plus the event timeout (30 s).
    const lines = [...before, recs('a', 'a#1', 's0', 5000 + BOUND + 20_000, [1])];
    const run = { from: 0, to: 5000 + BOUND + 40_000, shards: 1 };
    assert.deepEqual(
      analyzeChaos({ ...input(lines, faults, 2), run }).network.recoveries.map((r) => r.status),
      ['stuck'],
    );
    const fanout = analyzeChaos({ ...input(lines, faults, 2), run, retrievalMode: 'FANOUT' });
    assert.deepEqual(
      fanout.network.recoveries.map((r) => [r.status, r.millis]),
      [['processed', BOUND + 20_000]],
    );
    assert.match(formatChaosReport(fanout, 10_000).lines.join('\n'), /bound 65\.0 s/);
  });

  test('fan-out: subscriptions are counted by outcome and failure kind; a fan-out run without any subscription fails', () => {
    const sub = (t: number, outcome: 'completed' | 'shard-end' | 'failed' | 'stopped', err?: string): ChaosLine => ({ e: 'sub', w: 'a', shard: 's0', outcome, events: 3, millis: 3000, t, ...(err ? { err } : {}) });
    const calls = (t: number, kinesis: Record<string, number>): ChaosLine => ({ e: 'calls', w: 'a', t, calls: { scan: 0, get: 0, put: 0, update: 0, delete: 0, updates: {} }, kinesis });
    const clean = [init('a', 'a#1', 's0', 0), recs('a', 'a#1', 's0', 100, [0, 1])];
    const lines = [...clean, sub(200, 'failed', 'in-use'), sub(300, 'failed', 'timeout'), sub(400, 'failed', 'in-use'), sub(500, 'stopped'), calls(0, {}), calls(50_000, { SubscribeToShard: 4, GetRecords: 1 })];
    const r = analyzeChaos({ ...input(lines, [], 2), retrievalMode: 'FANOUT' });
    assert.deepEqual(r.retrieval, { mode: 'FANOUT', subscriptions: { failed: 3, stopped: 1 }, subscriptionFailures: { 'in-use': 2, timeout: 1 }, kinesisCalls: { SubscribeToShard: 4, GetRecords: 1 } });
    const report = formatChaosReport(r, 10_000);
    assert.ok(report.passed);
    assert.ok(report.lines.includes('retrieval: enhanced fan-out, 4 subscriptions ended (failed 3, stopped 1; failed by kind: in-use 2, timeout 1); Kinesis calls: SubscribeToShard 4, GetRecords 1'));
    const none = formatChaosReport(analyzeChaos({ ...input(clean, [], 2), retrievalMode: 'FANOUT' }), 10_000);
    assert.ok(!none.passed);
    assert.match(none.lines.at(-1)!, /no worker logged a subscription/);
    // Polling needs none.
    assert.ok(formatChaosReport(analyzeChaos(input(clean, [], 2)), 10_000).passed);
  });

  test('a duplicate after a partition is explained like one after a pause', () => {
    // a is cut off, cannot checkpoint, is SIGTERMed: its shutdownRequested ends the session without a checkpoint.
    assert.equal(analyzeChaos(input(redoneAfterShutdown, [], 2)).duplicatesUnexplained, 2);
    const r = analyzeChaos(input(redoneAfterShutdown, cut('a', 1, 50, 20_000), 2));
    assert.equal(r.duplicatesExplained, 2);
    assert.equal(r.duplicatesUnexplained, 0);
  });

  test('every SIGTERMed worker must exit within its grace; a SIGKILL fault first is not judged; the final stop counts', () => {
    const faults: Fault[] = [
      { kind: 'start', w: 'a', t: 0 },
      { kind: 'start', w: 'b', t: 0 },
      { kind: 'start', w: 'c', t: 0 },
      { kind: 'term', w: 'a', t: 10_000 },
      { kind: 'term', w: 'b', t: 10_000 },
      { kind: 'kill', w: 'b', t: 12_000 },
    ];
    const ok = analyzeChaos({ ...input([], faults, 0), exits: [{ w: 'a', t: 13_000 }, { w: 'b', t: 12_000 }, { w: 'c', t: 52_000 }], finalStop: 50_000, shutdownGraceMillis: 5000 });
    assert.deepEqual(ok.shutdowns.exit, { count: 2, min: 2000, median: 2000, max: 3000 });
    assert.equal(ok.shutdowns.overGrace, 0);
    const passed = formatChaosReport(ok, 10_000);
    assert.ok(passed.passed);
    assert.match(passed.lines.at(-1)!, /every SIGTERM within its grace/);
    // c hangs at the final stop until the harness's SIGKILL, 10 s later.
    const slow = analyzeChaos({ ...input([], faults, 0), exits: [{ w: 'a', t: 13_000 }, { w: 'b', t: 12_000 }, { w: 'c', t: 60_000 }], finalStop: 50_000, shutdownGraceMillis: 5000 });
    assert.equal(slow.shutdowns.overGrace, 1);
    assert.deepEqual(slow.shutdowns.sample, ['c: exited 10.0 s after SIGTERM']);
    assert.ok(!formatChaosReport(slow, 10_000).passed);
  });
});
