/**
 * The chaos run's judge (bench/chaos/analysis.ts) on hand-made logs: each verdict it prints must be able to
 * fail, so each is shown failing here as well as passing.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeChaos, formatChaosReport, type ChaosInput } from '../../bench/chaos/analysis.js';
import type { ChaosLine, DeliveredRecord, Fault } from '../../bench/chaos/log.js';

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
    const lines = [
      init('a', 'a#1', 's0', 0),
      recs('a', 'a#1', 's0', 100, [0, 1]),
      end('a', 'a#1', 's0', 160, 'shutdownRequested'),
      init('b', 'b#1', 's0', 1000),
      recs('b', 'b#1', 's0', 1100, [0, 1]),
    ];
    assert.equal(analyzeChaos(input(lines, [], 2)).duplicatesUnexplained, 2);
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
    const lines = [
      init('a', 'a#1', 's0', 0),
      recs('a', 'a#1', 's0', 100, [0]),
      init('b', 'b#1', 's0', 150),
      recs('b', 'b#1', 's0', 200, [1]),
      recs('a', 'a#1', 's0', 300, [2]),
      recs('b', 'b#1', 's0', 400, [3]),
    ];
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
});
