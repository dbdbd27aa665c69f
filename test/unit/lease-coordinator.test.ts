/**
 * The LeaseCoordinator and its modules (renewer, taker, hand-off, held-lease registry) under a virtual clock,
 * against an in-memory lease table that applies the same fencing as DynamoDB (test/helpers/memory-lease-table.ts).
 * See docs/lease-protocol.md: 'Renewal', 'Taking and stealing', 'Scan turns', 'Graceful hand-off'.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/common/clock.js';
import { RETRY } from '../../src/common/retry.js';
import { InvalidStateException, KinesisClientLibDependencyException, ShutdownException } from '../../src/common/errors.js';
import { KclEvents, type KclEventMap, type KclEventName } from '../../src/common/events.js';
import { silentLogger } from '../../src/common/logger.js';
import { extendedSequenceNumber } from '../../src/checkpoint/sequence.js';
import { LeaseCoordinator, type LeaseCoordinatorConfig, type LeaseCoordinatorTuning } from '../../src/leases/coordinator.js';
import type { Lease } from '../../src/leases/lease.js';
import { MemoryLeaseTable } from '../helpers/memory-lease-table.js';
import { deferred } from '../helpers/deferred.js';
import type { HandoffWriteOptions } from '../../src/leases/lease-store.js';

const FAILOVER = 10_000;

function lease(key: string, owner?: string, counter = 0): Lease {
  return {
    leaseKey: key,
    ...(owner ? { leaseOwner: owner } : {}),
    leaseCounter: counter,
    checkpoint: extendedSequenceNumber('TRIM_HORIZON'),
    ownerSwitchesSinceCheckpoint: 0,
    parentShardIds: [],
    childShardIds: [],
  };
}

type Recorded = { [K in KclEventName]: { name: K } & KclEventMap[K] }[KclEventName];

/** A coordinator for `workerId` with every event it emits recorded in order. */
function worker(table: MemoryLeaseTable, clock: VirtualClock, workerId: string, config: Partial<LeaseCoordinatorConfig> = {}, tuning: LeaseCoordinatorTuning = {}) {
  const events = new KclEvents((err) => {
    throw err;
  });
  const seen: Recorded[] = [];
  const names: KclEventName[] = ['lease.acquired', 'lease.lost', 'lease.released', 'lease.handoffInitiated', 'lease.handoffRequested', 'lease.renewalsFailing', 'worker.error'];
  for (const name of names) events.on(name, (e) => seen.push({ name, ...e } as Recorded));
  const coordinator = new LeaseCoordinator(
    table,
    {
      workerId,
      failoverTimeMillis: FAILOVER,
      epsilonMillis: 25,
      maxLeasesForWorker: Number.POSITIVE_INFINITY,
      maxLeasesToStealAtOneTime: 1,
      maxLeaseRenewalThreads: 20,
      isGracefulLeaseHandoffEnabled: true,
      gracefulLeaseHandoffTimeoutMillis: 5_000,
      ...config,
    },
    clock,
    events,
    silentLogger,
    { random: () => 0, ...tuning },
  );
  const of = <K extends KclEventName>(name: K) => seen.filter((e): e is Extract<Recorded, { name: K }> => e.name === name);
  return { coordinator, events: seen, of };
}

describe('LeaseCoordinator: renewal', () => {
  test('renewals run at most maxLeaseRenewalThreads at a time; every held lease is still renewed in the round', async () => {
    /** Renewals wait at a gate, so the test sees how many are in flight at once. */
    class GatedTable extends MemoryLeaseTable {
      inFlight = 0;
      maxInFlight = 0;
      readonly gate = deferred();
      override async renewLease(l: Lease, options?: HandoffWriteOptions): Promise<Lease | undefined> {
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        try {
          await this.gate.promise;
          return await super.renewLease(l, options);
        } finally {
          this.inFlight--;
        }
      }
    }
    const clock = new VirtualClock();
    const keys = Array.from({ length: 50 }, (_, i) => `s${i}`);
    const table = new GatedTable(keys.map((k) => lease(k)));
    const a = worker(table, clock, 'A', { maxLeaseRenewalThreads: 7 });
    await a.coordinator.takeOnce();
    assert.equal(keys.filter((k) => a.coordinator.getHeld(k)).length, 50);
    await clock.advance(5_000);
    const round = a.coordinator.renewAll();
    for (let i = 0; i < 20 && table.inFlight < 7; i++) await Promise.resolve();
    assert.equal(table.inFlight, 7, 'as many renewals in flight as the key allows');
    table.gate.resolve();
    await round;
    assert.equal(table.maxInFlight, 7, 'never more');
    assert.equal(table.count('renewLease'), 50, 'every held lease renewed once');
    assert.deepEqual(keys.filter((k) => table.peek(k)?.leaseCounter !== 2), [], 'each lease taken (1) and renewed (2)');
  });

  test('takes unowned leases: each is held under its own token and announced once', async () => {
    const clock = new VirtualClock();
    const table = new MemoryLeaseTable([lease('s0'), lease('s1')]);
    const a = worker(table, clock, 'A');
    await a.coordinator.takeOnce();
    assert.deepEqual(a.of('lease.acquired').map((e) => e.leaseKey).sort(), ['s0', 's1']);
    assert.equal(table.peek('s0')?.leaseOwner, 'A');
    assert.equal(table.peek('s0')?.leaseCounter, 1);
    const [h0, h1] = [a.coordinator.getHeld('s0')!, a.coordinator.getHeld('s1')!];
    assert.notEqual(h0.concurrencyToken, h1.concurrencyToken);
    assert.equal(a.coordinator.isHeld('s0', h0.concurrencyToken), true);
    assert.equal(a.coordinator.isHeld('s0', 'old-token'), false);
  });

  test('a checkpoint within half a renewal period stands in for the renewal; later the renewal writes', async () => {
    const clock = new VirtualClock();
    const table = new MemoryLeaseTable([lease('s0')]);
    const a = worker(table, clock, 'A');
    await a.coordinator.takeOnce();
    const half = a.coordinator.renewIntervalMillis / 2;
    await clock.advance(3_000);
    await a.coordinator.checkpoint('s0', a.coordinator.getHeld('s0')!.concurrencyToken, extendedSequenceNumber('42'));
    await clock.advance(half - 1);
    await a.coordinator.renewAll();
    assert.equal(table.count('renewLease'), 0, 'skipped: the checkpoint raised the counter');
    await clock.advance(1);
    await a.coordinator.renewAll();
    assert.equal(table.count('renewLease'), 1);
    assert.equal(table.peek('s0')?.leaseCounter, 3, 'take, checkpoint, renewal');
    assert.equal(table.peek('s0')?.checkpoint.sequenceNumber, '42');
  });

  test('failing renewals keep the lease until it expires by the local clock, then it is lost (expired)', async () => {
    const clock = new VirtualClock();
    const table = new MemoryLeaseTable([lease('s0')]);
    const a = worker(table, clock, 'A');
    await a.coordinator.takeOnce();
    const token = a.coordinator.getHeld('s0')!.concurrencyToken;
    table.fail('renewLease', () => new KinesisClientLibDependencyException('DynamoDB unreachable'));
    await clock.advance(5_000);
    const round = a.coordinator.renewAll();
    // The retry policy's wait before the second attempt.
    await clock.advance(RETRY.leaseWrite.maxDelayMillis);
    await round;
    assert.equal(table.count('renewLease'), 2, 'a retriable failure is retried once');
    assert.equal(a.coordinator.isHeld('s0', token), true, 'kept for now');
    assert.deepEqual(a.of('lease.renewalsFailing').map((e) => [e.leaseKeys, e.error.message]), [[['s0'], 'DynamoDB unreachable']], 'said once');
    await clock.advance(FAILOVER - 5_000 - RETRY.leaseWrite.maxDelayMillis);
    assert.equal(a.coordinator.isHeld('s0', token), true, 'exactly the failover time: still held');
    await clock.advance(1);
    assert.equal(a.coordinator.isHeld('s0', token), false);
    await assert.rejects(a.coordinator.checkpoint('s0', token, extendedSequenceNumber('1')), ShutdownException);
    await a.coordinator.renewAll();
    assert.deepEqual(a.of('lease.lost').map((e) => [e.leaseKey, e.reason]), [['s0', 'expired']]);
    assert.equal(a.coordinator.getHeld('s0'), undefined);
    assert.equal(table.count('renewLease'), 2, 'never renews what its own clock calls expired');
  });

  test('a lease taken by another worker is lost (taken) at the next renewal; checkpoints are refused', async () => {
    const clock = new VirtualClock();
    const table = new MemoryLeaseTable([lease('s0')]);
    const a = worker(table, clock, 'A');
    await a.coordinator.takeOnce();
    const token = a.coordinator.getHeld('s0')!.concurrencyToken;
    assert.ok(await table.takeLease(table.peek('s0')!, 'thief'));
    await clock.advance(a.coordinator.renewIntervalMillis);
    await a.coordinator.renewAll();
    assert.deepEqual(a.of('lease.lost').map((e) => [e.leaseKey, e.reason]), [['s0', 'taken']]);
    await assert.rejects(a.coordinator.checkpoint('s0', token, extendedSequenceNumber('1')), ShutdownException);
    assert.equal(table.peek('s0')?.leaseOwner, 'thief');
  });

  test('a renewal whose first attempt landed (the retry fails its condition) keeps the lease', async () => {
    const clock = new VirtualClock();
    const table = new MemoryLeaseTable([lease('s0')]);
    const a = worker(table, clock, 'A');
    await a.coordinator.takeOnce();
    // The first attempt is written but its answer is lost: the retry then fails its condition.
    const original = table.renewLease.bind(table);
    let first = true;
    table.renewLease = async (l, options) => {
      const out = await original(l, options);
      if (first) {
        first = false;
        throw new KinesisClientLibDependencyException('socket reset after the write');
      }
      return out;
    };
    await clock.advance(a.coordinator.renewIntervalMillis);
    const round = a.coordinator.renewAll();
    await clock.advance(RETRY.leaseWrite.maxDelayMillis);
    await round;
    assert.deepEqual(a.of('lease.lost'), []);
    assert.equal(a.coordinator.getHeld('s0')?.lease.leaseCounter, 2);
    assert.equal(a.coordinator.getHeld('s0')?.lastRenewedAt, a.coordinator.renewIntervalMillis);
  });
});

/** A holds s0 and s1; B joins and requests one of them (its fair share). */
async function handoffStarted(config: { a?: Partial<LeaseCoordinatorConfig>; b?: Partial<LeaseCoordinatorConfig> } = {}) {
  const clock = new VirtualClock();
  const table = new MemoryLeaseTable([lease('s0'), lease('s1')]);
  const a = worker(table, clock, 'A', config.a);
  const b = worker(table, clock, 'B', config.b);
  await a.coordinator.takeOnce();
  await b.coordinator.takeOnce();
  const [initiated] = b.of('lease.handoffInitiated');
  assert.ok(initiated, 'B requested a lease');
  assert.equal(initiated.from, 'A');
  const key = initiated.leaseKey;
  assert.deepEqual(b.coordinator.pendingHandoffKeys(), [key]);
  assert.equal(table.peek(key)?.leaseOwner, 'B');
  assert.equal(table.peek(key)?.checkpointOwner, 'A');
  return { clock, table, a, b, key };
}

describe('LeaseCoordinator: graceful hand-off', () => {
  test('both sides: the holder notices at its renewal, checkpoints, completes; the requester takes it at its poll', async () => {
    const { clock, table, a, b, key } = await handoffStarted();
    await clock.advance(a.coordinator.renewIntervalMillis);
    await a.coordinator.renewAll();
    assert.deepEqual(a.of('lease.handoffRequested').map((e) => [e.leaseKey, e.to]), [[key, 'B']]);
    assert.equal(a.coordinator.handoffRequested(key), true);
    assert.equal(a.coordinator.isHeld(key), true, 'kept alive while the processor finishes');
    const token = a.coordinator.getHeld(key)!.concurrencyToken;
    await a.coordinator.checkpoint(key, token, extendedSequenceNumber('77'));
    await b.coordinator.pollHandoffs();
    assert.deepEqual(b.of('lease.acquired'), [], 'not before the holder completes');
    assert.equal(await a.coordinator.release(key), 'handed-off');
    assert.deepEqual(a.of('lease.released').map((e) => [e.leaseKey, e.to]), [[key, 'B']]);
    await b.coordinator.pollHandoffs();
    assert.deepEqual(b.of('lease.acquired').map((e) => [e.leaseKey, e.stolenFrom]), [[key, 'A']]);
    assert.equal(b.coordinator.isHeld(key), true);
    assert.deepEqual(b.coordinator.pendingHandoffKeys(), []);
    assert.equal(table.peek(key)?.checkpoint.sequenceNumber, '77', 'B starts after the checkpoint A wrote');
    assert.equal(table.peek(key)?.checkpointOwner, undefined);
  });

  test('a completed hand-off taken by the requester\'s scan, before its poll, still names the holder it came from', async () => {
    const { clock, a, b, key } = await handoffStarted();
    await clock.advance(a.coordinator.renewIntervalMillis);
    await a.coordinator.renewAll();
    assert.equal(await a.coordinator.release(key), 'handed-off');
    // The lease now names B as owner with no hand-off pending: to B's scan, a lease of its own that it does not hold.
    await b.coordinator.takeOnce();
    assert.deepEqual(b.of('lease.acquired').map((e) => [e.leaseKey, e.stolenFrom]), [[key, 'A']]);
    assert.deepEqual(b.coordinator.pendingHandoffKeys(), []);
  });

  test('a busy holder notices the request at its next checkpoint, which is still written', async () => {
    const { a, key, table } = await handoffStarted();
    const token = a.coordinator.getHeld(key)!.concurrencyToken;
    await a.coordinator.checkpoint(key, token, extendedSequenceNumber('5'));
    assert.deepEqual(a.of('lease.handoffRequested').map((e) => e.to), ['B']);
    assert.equal(table.peek(key)?.checkpoint.sequenceNumber, '5');
  });

  test('the holder forces the hand-off when its processor has not finished within the timeout', async () => {
    const { clock, a, b, key } = await handoffStarted();
    await clock.advance(a.coordinator.renewIntervalMillis);
    await a.coordinator.renewAll();
    await clock.advance(4_999);
    assert.deepEqual(a.of('lease.released'), []);
    await clock.advance(1);
    assert.deepEqual(a.of('lease.released').map((e) => [e.leaseKey, e.to]), [[key, 'B']], 'forced at the 5 s timeout');
    assert.equal(a.coordinator.getHeld(key), undefined);
    await b.coordinator.pollHandoffs();
    assert.deepEqual(b.of('lease.acquired').map((e) => e.leaseKey), [key]);
  });

  test('the timeout forces nothing once the holder completed (or lost) the lease', async () => {
    const { clock, a, key } = await handoffStarted();
    await clock.advance(a.coordinator.renewIntervalMillis);
    await a.coordinator.renewAll();
    await a.coordinator.release(key);
    await clock.advance(10_000);
    assert.equal(a.of('lease.released').length, 1);
  });

  test('the requester takes over when the holder stopped renewing for longer than the failover time', async () => {
    const { clock, b, key } = await handoffStarted();
    await clock.advance(FAILOVER);
    await b.coordinator.pollHandoffs();
    assert.deepEqual(b.of('lease.acquired'), [], 'silent for exactly the failover time: still waiting');
    await clock.advance(1);
    await b.coordinator.pollHandoffs();
    assert.deepEqual(b.of('lease.acquired').map((e) => [e.leaseKey, e.stolenFrom]), [[key, 'A']]);
  });

  test('the requester takes over an overdue hand-off (timeout + failover) although the holder still renews', async () => {
    // The holder would wait for its processor for ever; the requester's timeout is 5 s.
    const { clock, table, a, b, key } = await handoffStarted({ a: { gracefulLeaseHandoffTimeoutMillis: 1e9 } });
    for (let t = 0; t < 15_000; t += 2_500) {
      await clock.advance(2_500);
      await a.coordinator.renewAll();
      await b.coordinator.pollHandoffs();
    }
    assert.deepEqual(b.of('lease.acquired'), [], 'at exactly timeout + failover: still waiting');
    await clock.advance(1);
    await b.coordinator.pollHandoffs();
    assert.deepEqual(b.of('lease.acquired').map((e) => e.leaseKey), [key]);
    assert.equal(table.peek(key)?.checkpointOwner, undefined, 'the take cleared checkpointOwner');
    await clock.advance(2_500);
    await a.coordinator.renewAll();
    assert.deepEqual(a.of('lease.lost').map((e) => [e.leaseKey, e.reason]), [[key, 'taken']]);
  });

  test('shutting down withdraws a pending request: the lease is left unowned and the next scan by anyone takes it', async () => {
    const { clock, table, a, b, key } = await handoffStarted();
    await clock.advance(a.coordinator.renewIntervalMillis);
    await a.coordinator.renewAll();
    assert.equal(a.coordinator.handoffRequested(key), true);
    b.coordinator.stopTaking();
    await b.coordinator.withdrawPendingHandoffs();
    assert.deepEqual(b.coordinator.pendingHandoffKeys(), []);
    assert.equal(table.peek(key)?.leaseOwner, undefined);
    assert.equal(table.peek(key)?.checkpointOwner, undefined);
    assert.equal(await a.coordinator.release(key), 'not-held', 'the holder cannot complete to a requester that withdrew');
    const c = worker(table, clock, 'C');
    await c.coordinator.takeOnce();
    assert.ok(c.of('lease.acquired').some((e) => e.leaseKey === key));
  });

  test('a request already completed when the requester withdraws is released to the table', async () => {
    const { clock, table, a, b, key } = await handoffStarted();
    await clock.advance(a.coordinator.renewIntervalMillis);
    await a.coordinator.renewAll();
    assert.equal(await a.coordinator.release(key), 'handed-off');
    b.coordinator.stopTaking();
    await b.coordinator.withdrawPendingHandoffs();
    assert.equal(table.peek(key)?.leaseOwner, undefined);
    assert.deepEqual(b.of('lease.acquired'), []);
  });

  test('with graceful hand-off off, a steal is a plain take', async () => {
    const clock = new VirtualClock();
    const table = new MemoryLeaseTable([lease('s0'), lease('s1')]);
    const a = worker(table, clock, 'A');
    const b = worker(table, clock, 'B', { isGracefulLeaseHandoffEnabled: false });
    await a.coordinator.takeOnce();
    await b.coordinator.takeOnce();
    assert.deepEqual(b.of('lease.handoffInitiated'), []);
    assert.deepEqual(b.of('lease.acquired').map((e) => e.stolenFrom), ['A']);
  });
});

/** Runs the coordinator's loops until stop(); fatal errors are collected. */
function running(coordinator: LeaseCoordinator, clock: VirtualClock) {
  const controller = new AbortController();
  const fatal: Error[] = [];
  const loops = coordinator.run(controller.signal, (e) => fatal.push(e));
  const stop = async () => {
    controller.abort();
    await clock.advance(0);
    await loops;
  };
  return { fatal, stop };
}

describe('LeaseCoordinator: a scan held up by the network', () => {
  test('a renewal read by a scan that hung through a partition is dated when the answer came, so the live lease is not taken', async () => {
    const clock = new VirtualClock();
    const table = new MemoryLeaseTable([lease('s0', 'B', 5)]);
    const a = worker(table, clock, 'A');
    await a.coordinator.takeOnce();
    assert.deepEqual(a.of('lease.acquired'), [], "B's lease looks freshly renewed at first sight");
    // A's next scan is sent at t, but its request reaches the table only when the partition heals 2 s later:
    // it reads B's latest renewal, made just before.
    const original = table.listLeases.bind(table);
    table.listLeases = async () => {
      await clock.sleep(2_000);
      return original();
    };
    await clock.advance(FAILOVER - 2_500);
    const heldUp = a.coordinator.takeOnce();
    await clock.advance(1_900);
    assert.ok(await table.renewLease(table.peek('s0')!), 'B renews during the partition');
    await clock.advance(100);
    await heldUp;
    table.listLeases = original;
    // A fresh scan right after the heal sees the same counter. Judged from when the held-up scan was sent, the
    // renewal would look older than the failover time; it is not.
    await clock.advance(FAILOVER - 1_000);
    await a.coordinator.takeOnce();
    assert.deepEqual(a.of('lease.acquired'), [], 'still held by B');
    await clock.advance(1_100);
    await a.coordinator.takeOnce();
    assert.deepEqual(a.of('lease.acquired').map((e) => e.leaseKey), ['s0'], 'taken once B has been silent for longer than the failover time');
  });
});

describe('LeaseCoordinator: scan turns', () => {
  test('alone: scans at start and every taker period; requestTake wakes it at once; a move brings a follow-up scan', async () => {
    const clock = new VirtualClock();
    const table = new MemoryLeaseTable([]);
    const a = worker(table, clock, 'A');
    const run = running(a.coordinator, clock);
    await clock.advance(0);
    assert.equal(table.count('listLeases'), 1, 'a scan at start');
    await clock.advance(a.coordinator.takerIntervalMillis - 1);
    assert.equal(table.count('listLeases'), 1);
    await clock.advance(1);
    assert.equal(table.count('listLeases'), 2, 'the next one a taker period later');
    table.put(lease('s0'));
    a.coordinator.requestTake();
    await clock.advance(0);
    assert.equal(table.count('listLeases'), 3, 'woken at once');
    assert.deepEqual(a.of('lease.acquired').map((e) => e.leaseKey), ['s0']);
    await clock.advance(1_000);
    assert.equal(table.count('listLeases'), 4, 'after a move, the follow-up scan comes within 1 s');
    a.coordinator.stopTaking();
    await clock.advance(a.coordinator.takerIntervalMillis * 2);
    assert.equal(table.count('listLeases'), 4, 'no scan after stopTaking');
    await run.stop();
    assert.deepEqual(run.fatal, []);
  });

  test('a running requester takes a completed hand-off within one poll interval, without a scan', async () => {
    const { clock, table, a, b, key } = await handoffStarted();
    const run = running(b.coordinator, clock);
    await clock.advance(0);
    const scans = table.count('listLeases');
    await clock.advance(a.coordinator.renewIntervalMillis);
    await a.coordinator.renewAll();
    await a.coordinator.release(key);
    await clock.advance(500);
    assert.deepEqual(b.of('lease.acquired').map((e) => e.leaseKey), [key]);
    assert.ok(table.count('listLeases') - scans <= 1, 'taken at a poll, not by scanning');
    await run.stop();
  });

  test('the lease table deleted under a running taker is fatal: reported once through onFatal, the taker stops', async () => {
    const clock = new VirtualClock();
    const table = new MemoryLeaseTable([]);
    const a = worker(table, clock, 'A');
    table.fail('listLeases', () => new InvalidStateException('Scan: ResourceNotFoundException: table deleted'));
    const run = running(a.coordinator, clock);
    await clock.advance(a.coordinator.takerIntervalMillis * 3);
    assert.equal(run.fatal.length, 1);
    assert.equal(table.count('listLeases'), 1);
    await run.stop();
  });

  test('any other taker failure is reported as worker.error and tried again soon, backing off to the taker period', async () => {
    const clock = new VirtualClock();
    const table = new MemoryLeaseTable([]);
    const a = worker(table, clock, 'A');
    table.fail('listLeases', () => new KinesisClientLibDependencyException('Scan: 500'));
    const run = running(a.coordinator, clock);
    await clock.advance(0);
    assert.equal(table.count('listLeases'), 1);
    const fleetGap = Math.round(FAILOVER / 6);
    await clock.advance(fleetGap);
    assert.equal(table.count('listLeases'), 2, 'the first retry comes within one fleet gap, not a taker period later');
    // Then the waits double (with jitter) up to the taker period: 2 gaps, 4, 8, then the period itself.
    await clock.advance(15 * fleetGap);
    const retries = table.count('listLeases');
    assert.ok(retries >= 4 && retries <= 6, `backing off (${retries} scans in 16 fleet gaps)`);
    assert.deepEqual(run.fatal, []);
    assert.ok(a.of('worker.error').every((e) => e.where === 'lease taker'));
    assert.equal(a.of('worker.error').length, retries);
    await run.stop();
  });
});

describe('LeaseCoordinator: turns on a large table', () => {
  /** Takes that take `millis` of virtual time each, with the most seen in flight at once. */
  class SlowTakes extends MemoryLeaseTable {
    inFlight = 0;
    maxInFlight = 0;
    constructor(
      leases: readonly Lease[],
      private readonly clock: VirtualClock,
      private readonly millis: number,
    ) {
      super(leases);
    }
    override async takeLease(l: Lease, owner: string): Promise<Lease | undefined> {
      this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
      await this.clock.sleep(this.millis);
      this.inFlight--;
      return super.takeLease(l, owner);
    }
  }
  const fresh = (n: number) => Array.from({ length: n }, (_, i) => lease(`s${i}`));
  /** A small seeded generator, so two workers shuffle differently but reproducibly. */
  const seeded = (seed: number) => () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);

  test('a turn runs 8 takes at once and starts new ones only while its scan is younger than half a renewal period; the next scan comes within a second', async () => {
    const clock = new VirtualClock();
    const table = new SlowTakes(fresh(1000), clock, 100);
    const a = worker(table, clock, 'A');
    const turn = a.coordinator.takeOnce();
    await clock.advance(a.coordinator.renewIntervalMillis);
    const delay = await turn;
    // Takes start at 0, 100, ... 1600 ms on each of 8 lanes: the scan was answered at 0, 3308 / 2 = 1654 ms ago.
    assert.equal(a.of('lease.acquired').length, 8 * 17);
    assert.equal(table.maxInFlight, 8);
    assert.equal(delay, 1000, 'the rest of the decision waits for a fresh scan, within a second');
    let turns = 1;
    while (a.coordinator.heldLeases().length < 1000 && turns < 50) {
      const next = a.coordinator.takeOnce();
      await clock.advance(a.coordinator.renewIntervalMillis);
      await next;
      turns++;
    }
    assert.equal(a.coordinator.heldLeases().length, 1000, 'a lone worker still takes them all');
    assert.equal(turns, Math.ceil(1000 / (8 * 17)));
    assert.equal(table.count('takeLease'), 1000, 'each lease taken once, no take tried twice');
  });

  test('with a long failover a turn still stops starting takes 2 s after its scan, not half a renewal period', async () => {
    const clock = new VirtualClock();
    const table = new SlowTakes(fresh(1000), clock, 100);
    const a = worker(table, clock, 'A', { failoverTimeMillis: 150_000 });
    const turn = a.coordinator.takeOnce();
    await clock.advance(a.coordinator.renewIntervalMillis);
    await turn;
    // Takes start at 0, 100, ... 1900 ms on each of 8 lanes (half a renewal period would be 25 s: all 1000).
    assert.equal(a.of('lease.acquired').length, 8 * 20);
  });

  test('with a long failover, workers starting together still share a fresh table by their fresh scans, without a steal', async () => {
    const clock = new VirtualClock();
    const table = new SlowTakes(fresh(600), clock, 100);
    const a = worker(table, clock, 'A', { failoverTimeMillis: 150_000 }, { random: seeded(1) });
    const b = worker(table, clock, 'B', { failoverTimeMillis: 150_000 }, { random: seeded(2) });
    const runs = [running(a.coordinator, clock), running(b.coordinator, clock)];
    await clock.advance(60_000);
    assert.deepEqual([a.coordinator.heldLeases().length, b.coordinator.heldLeases().length], [300, 300]);
    assert.deepEqual([...a.of('lease.handoffInitiated'), ...b.of('lease.handoffInitiated')], [], 'no balancing move needed');
    for (const r of runs) await r.stop();
  });

  test('workers starting together on a fresh table share it by their fresh scans, without a steal', async () => {
    const clock = new VirtualClock();
    const table = new SlowTakes(fresh(600), clock, 100);
    const a = worker(table, clock, 'A', {}, { random: seeded(1) });
    const b = worker(table, clock, 'B', {}, { random: seeded(2) });
    const runs = [running(a.coordinator, clock), running(b.coordinator, clock)];
    // Each first scan sees nobody else and decides to take all 600; each turn stops after 1.65 s of takes, and the
    // next scan sees the other worker's leases and a target of 300.
    await clock.advance(30_000);
    assert.deepEqual([a.coordinator.heldLeases().length, b.coordinator.heldLeases().length], [300, 300]);
    assert.deepEqual([...a.of('lease.handoffInitiated'), ...b.of('lease.handoffInitiated')], [], 'no balancing move needed');
    for (const r of runs) await r.stop();
  });
});
