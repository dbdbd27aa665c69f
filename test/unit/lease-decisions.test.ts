/**
 * Pure lease decisions (kcl-semantics §3.2 expiry without synchronized clocks, §3.4 the 2.x taker), driven by
 * the scenario table in test/unit/scenarios/lease-decisions.json plus a virtual time line for observe().
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  nextPeerScanDelay,
  nextScanDelay,
  decideLeasesToTake,
  expiresAt,
  isAvailable,
  observe,
  shuffleWith,
  type LeaseObservation,
} from '../../src/leases/decisions.js';
import { extendedSequenceNumber } from '../../src/checkpoint/sequence.js';
import type { Lease } from '../../src/leases/lease.js';

// The compiled test runs from dist/test/unit/, so go up three levels to the repository root and read the
// SOURCE json (tsc does not copy it into dist).
const SCENARIOS_URL = new URL('../../../test/unit/scenarios/lease-decisions.json', import.meta.url);

interface ScenarioLease {
  leaseKey: string;
  owner: string | null;
  counter: number;
  checkpoint: string;
  /** Set while a graceful hand-off is pending: the old owner, still checkpointing (kcl-semantics §3.7). */
  checkpointOwner?: string;
}
interface Expected {
  take: string[];
  steal?: string[];
  stealCount?: number;
  stealFrom?: string;
  target: number;
  numWorkers: number;
  mine?: number;
}
interface Scenario {
  name: string;
  workerId?: string;
  now?: number;
  failoverMillis?: number;
  maxLeasesForWorker?: number | null;
  maxLeasesToStealAtOneTime?: number;
  held?: string[];
  leases: ScenarioLease[];
  observations: Record<string, { counter: number; lastChangeAt: number | null }>;
  expected: Expected;
}
interface ScenarioFile {
  defaults: Required<Pick<Scenario, 'workerId' | 'now' | 'failoverMillis' | 'maxLeasesToStealAtOneTime' | 'held'>> & { maxLeasesForWorker: number | null };
  scenarios: Scenario[];
}

const file = JSON.parse(readFileSync(fileURLToPath(SCENARIOS_URL), 'utf8')) as ScenarioFile;

function lease(key: string, owner: string | null, counter: number, checkpoint = 'TRIM_HORIZON', checkpointOwner?: string): Lease {
  return {
    leaseKey: key,
    ...(owner === null ? {} : { leaseOwner: owner }),
    ...(checkpointOwner ? { checkpointOwner } : {}),
    leaseCounter: counter,
    checkpoint: extendedSequenceNumber(checkpoint),
    ownerSwitchesSinceCheckpoint: 0,
    parentShardIds: [],
    childShardIds: [],
  };
}

const identity = <T>(items: readonly T[]): T[] => [...items];

describe('lease-decisions.json scenario table', () => {
  test('the scenario file is found from the compiled test and is not empty', () => {
    assert.ok(file.scenarios.length >= 25, `only ${file.scenarios.length} scenarios`);
    const names = file.scenarios.map((s) => s.name);
    assert.equal(new Set(names).size, names.length, 'scenario names must be unique');
  });

  for (const scenario of file.scenarios) {
    test(scenario.name, () => {
      const d = file.defaults;
      const maxForWorker = scenario.maxLeasesForWorker !== undefined ? scenario.maxLeasesForWorker : d.maxLeasesForWorker;
      const leases = scenario.leases.map((l) => lease(l.leaseKey, l.owner, l.counter, l.checkpoint, l.checkpointOwner));
      const observations = new Map<string, LeaseObservation>(
        Object.entries(scenario.observations).map(([k, o]) => [k, { counter: o.counter, lastChangeAt: o.lastChangeAt ?? undefined }]),
      );
      const workerId = scenario.workerId ?? d.workerId;
      const decision = decideLeasesToTake({
        leases,
        observations,
        workerId,
        now: scenario.now ?? d.now,
        failoverMillis: scenario.failoverMillis ?? d.failoverMillis,
        maxLeasesForWorker: maxForWorker === null ? Number.POSITIVE_INFINITY : maxForWorker,
        maxLeasesToStealAtOneTime: scenario.maxLeasesToStealAtOneTime ?? d.maxLeasesToStealAtOneTime,
        held: new Set(scenario.held ?? d.held),
        shuffle: identity,
      });
      const e = scenario.expected;
      assert.deepEqual(decision.take.map((l) => l.leaseKey), e.take, 'take');
      if (e.steal !== undefined) {
        assert.deepEqual(decision.steal.map((l) => l.leaseKey), e.steal, 'steal');
      } else {
        assert.equal(decision.steal.length, e.stealCount, 'steal count');
        for (const stolen of decision.steal) assert.equal(stolen.leaseOwner, e.stealFrom, `${stolen.leaseKey} stolen from`);
      }
      assert.equal(decision.target, e.target, 'target');
      assert.equal(decision.numWorkers, e.numWorkers, 'numWorkers');
      if (e.mine !== undefined) assert.equal(decision.mine, e.mine, 'mine');
      // Whatever is taken or stolen is never already held, never at SHARD_END and never our own fresh lease.
      const held = new Set(scenario.held ?? d.held);
      for (const l of [...decision.take, ...decision.steal]) {
        assert.equal(held.has(l.leaseKey), false, `${l.leaseKey} is held`);
        assert.notEqual(l.checkpoint.sequenceNumber, 'SHARD_END', `${l.leaseKey} is at SHARD_END`);
      }
      for (const l of decision.steal) assert.notEqual(l.leaseOwner, workerId);
      // Returned leases are the scan's objects, not copies.
      for (const l of [...decision.take, ...decision.steal]) assert.ok(leases.includes(l));
    });
  }
});

describe('decideLeasesToTake uses the injected shuffle', () => {
  test('available leases are chosen through the shuffle (reversed → last ones first)', () => {
    const leases = [lease('s0', null, 0), lease('s1', null, 0), lease('s2', null, 0), lease('s3', null, 0)];
    const decision = decideLeasesToTake({
      leases,
      observations: new Map([['s3', { counter: 0, lastChangeAt: undefined }]]),
      workerId: 'me',
      now: 0,
      failoverMillis: 10_000,
      maxLeasesForWorker: 2,
      maxLeasesToStealAtOneTime: 1,
      held: new Set(),
      shuffle: <T>(items: readonly T[]) => [...items].reverse(),
    });
    assert.deepEqual(decision.take.map((l) => l.leaseKey), ['s3', 's2']);
  });

  test('shuffleWith is a permutation that does not mutate its input, deterministic for a given source', () => {
    const input = ['a', 'b', 'c', 'd', 'e'];
    const zero = shuffleWith(() => 0)(input);
    // j is always 0: i=4 swaps 4↔0, i=3 swaps 3↔0, ...
    assert.deepEqual(zero, ['b', 'c', 'd', 'e', 'a']);
    const top = shuffleWith(() => 0.999999)(input);
    assert.deepEqual(top, ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(input, ['a', 'b', 'c', 'd', 'e']);
    let seed = 7;
    const lcg = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const out = shuffleWith(lcg)(input);
    assert.deepEqual([...out].sort(), input);
  });
});

describe('isAvailable', () => {
  const owned = lease('s0', 'w2', 5);
  test('unowned is always available', () => {
    assert.equal(isAvailable(lease('s0', null, 5), { counter: 5, lastChangeAt: 1000 }, 1000, 10_000), true);
  });
  test('owned: available only when the age is strictly greater than failover', () => {
    assert.equal(isAvailable(owned, { counter: 5, lastChangeAt: 0 }, 9_999, 10_000), false);
    assert.equal(isAvailable(owned, { counter: 5, lastChangeAt: 0 }, 10_000, 10_000), false);
    assert.equal(isAvailable(owned, { counter: 5, lastChangeAt: 0 }, 10_001, 10_000), true);
  });
  test('owned with no observation or no timestamp is available', () => {
    assert.equal(isAvailable(owned, undefined, 0, 10_000), true);
    assert.equal(isAvailable(owned, { counter: 5, lastChangeAt: undefined }, 0, 10_000), true);
  });
  test('an age further than a year in the future is not trusted (available); a smaller negative age is not', () => {
    const year = 365 * 24 * 3600 * 1000;
    assert.equal(isAvailable(owned, { counter: 5, lastChangeAt: year + 1 }, 0, 10_000), true);
    assert.equal(isAvailable(owned, { counter: 5, lastChangeAt: year }, 0, 10_000), false);
    assert.equal(isAvailable(owned, { counter: 5, lastChangeAt: 5_000 }, 0, 10_000), false);
  });
});

describe('observe() over several scans (virtual time line)', () => {
  test('new owned fresh, new unowned expired, counter change resets age, unchanged keeps age, missing forgotten', () => {
    const failover = 10_000;
    // t = 1000: first scan.
    let obs = observe(new Map(), [lease('a', 'w2', 1), lease('b', null, 0), lease('c', 'w3', 7)], 1_000);
    assert.deepEqual(obs.get('a'), { counter: 1, lastChangeAt: 1_000 }, 'new owned lease is assumed fresh');
    assert.deepEqual(obs.get('b'), { counter: 0, lastChangeAt: undefined }, 'new unowned lease is expired');
    assert.deepEqual(obs.get('c'), { counter: 7, lastChangeAt: 1_000 });
    assert.equal(obs.size, 3);
    assert.equal(isAvailable(lease('a', 'w2', 1), obs.get('a'), 1_000, failover), false);

    // t = 6000: a renewed (counter 2), c unchanged, b now owned by w4 with a new counter.
    obs = observe(obs, [lease('a', 'w2', 2), lease('b', 'w4', 1), lease('c', 'w3', 7)], 6_000);
    assert.deepEqual(obs.get('a'), { counter: 2, lastChangeAt: 6_000 }, 'counter change resets the age');
    assert.deepEqual(obs.get('b'), { counter: 1, lastChangeAt: 6_000 });
    assert.deepEqual(obs.get('c'), { counter: 7, lastChangeAt: 1_000 }, 'unchanged counter keeps the old timestamp');

    // t = 11001: c has been still for 10001 ms → expired; a (age 5001) is not.
    obs = observe(obs, [lease('a', 'w2', 2), lease('b', 'w4', 1), lease('c', 'w3', 7)], 11_001);
    assert.deepEqual(obs.get('c'), { counter: 7, lastChangeAt: 1_000 });
    assert.equal(isAvailable(lease('c', 'w3', 7), obs.get('c'), 11_001, failover), true);
    assert.equal(isAvailable(lease('a', 'w2', 2), obs.get('a'), 11_001, failover), false);
    assert.equal(isAvailable(lease('b', 'w4', 1), obs.get('b'), 11_001, failover), false);

    // t = 12000: b deleted from the table → forgotten; a new lease d (owned) appears.
    obs = observe(obs, [lease('a', 'w2', 2), lease('c', 'w3', 7), lease('d', 'w5', 0)], 12_000);
    assert.deepEqual([...obs.keys()].sort(), ['a', 'c', 'd']);
    assert.equal(obs.has('b'), false);
    assert.deepEqual(obs.get('d'), { counter: 0, lastChangeAt: 12_000 });

    // t = 13000: b comes back (re-created): it is new again, unowned → expired.
    obs = observe(obs, [lease('a', 'w2', 2), lease('b', null, 0), lease('c', 'w3', 7), lease('d', 'w5', 0)], 13_000);
    assert.deepEqual(obs.get('b'), { counter: 0, lastChangeAt: undefined });

    // A counter that goes *down* (lease deleted and re-created between scans) is a change too.
    obs = observe(obs, [lease('a', 'w2', 0), lease('c', 'w3', 7), lease('d', 'w5', 0)], 14_000);
    assert.deepEqual(obs.get('a'), { counter: 0, lastChangeAt: 14_000 });
  });

  test('observe does not mutate the previous map', () => {
    const first = observe(new Map(), [lease('a', 'w2', 1)], 0);
    const snapshot = new Map(first);
    observe(first, [lease('a', 'w2', 2)], 100);
    observe(first, [], 200);
    assert.deepEqual(first, snapshot);
  });

  test('an unchanged unowned lease stays expired (no timestamp) across scans', () => {
    let obs = observe(new Map(), [lease('b', null, 3)], 0);
    obs = observe(obs, [lease('b', null, 3)], 50_000);
    assert.deepEqual(obs.get('b'), { counter: 3, lastChangeAt: undefined });
  });
});

describe('expiresAt', () => {
  test('owned and observed: lastChangeAt + failover', () => {
    assert.equal(expiresAt(lease('s0', 'w2', 1), { counter: 1, lastChangeAt: 500 }, 10_000), 10_500);
  });
  test('unowned: undefined (available already)', () => {
    assert.equal(expiresAt(lease('s0', null, 1), { counter: 1, lastChangeAt: 500 }, 10_000), undefined);
  });
  test('owned but never observed or without a timestamp: undefined', () => {
    assert.equal(expiresAt(lease('s0', 'w2', 1), undefined, 10_000), undefined);
    assert.equal(expiresAt(lease('s0', 'w2', 1), { counter: 1, lastChangeAt: undefined }, 10_000), undefined);
  });
  test('consistent with isAvailable: not available at expiresAt, available 1 ms later', () => {
    const l = lease('s0', 'w2', 1);
    const o = { counter: 1, lastChangeAt: 2_345 };
    const at = expiresAt(l, o, 10_000)!;
    assert.equal(isAvailable(l, o, at, 10_000), false);
    assert.equal(isAvailable(l, o, at + 1, 10_000), true);
  });
});

describe('nextScanDelay: the fleet takes turns scanning', () => {
  const base = { fleetGapMillis: 2000, maxIntervalMillis: 20_050 };

  test('a worker alone scans on the taker period', () => {
    assert.equal(nextScanDelay({ ...base, workers: ['me'], workerId: 'me', wallNow: 123_456 }), 20_050);
    assert.equal(nextScanDelay({ ...base, workers: [], workerId: 'me', wallNow: 0 }), 20_050);
  });

  test('four workers: each scans every 8 s, in its own 2 s slot, so the fleet scans every 2 s', () => {
    const workers = ['a', 'b', 'c', 'd'];
    // At wall time 0 (a period boundary) each worker's next scan is at its slot: a at 8 s (just missed 0), b 2 s, c 4 s, d 6 s.
    const delays = workers.map((w) => nextScanDelay({ ...base, workers, workerId: w, wallNow: 0 }));
    assert.deepEqual(delays, [8000, 2000, 4000, 6000]);
    // Over a long stretch, the union of everyone's scan times has gaps of exactly the fleet gap.
    const times: number[] = [];
    for (const w of workers) {
      let t = 1_000;
      for (let i = 0; i < 5; i++) {
        t += nextScanDelay({ ...base, workers, workerId: w, wallNow: t });
        times.push(t);
      }
    }
    times.sort((x, y) => x - y);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    assert.ok(gaps.every((g) => g === 2000), `gaps ${gaps.join(',')}`);
  });

  test('the order of the list and this worker being absent from it do not matter', () => {
    const a = nextScanDelay({ ...base, workers: ['d', 'b', 'c'], workerId: 'a', wallNow: 5_000 });
    const b = nextScanDelay({ ...base, workers: ['a', 'b', 'c', 'd'], workerId: 'a', wallNow: 5_000 });
    assert.equal(a, b);
  });

  test('with many workers a worker still scans at least every taker period', () => {
    const workers = Array.from({ length: 40 }, (_, i) => `w${String(i).padStart(2, '0')}`);
    for (const w of workers) {
      const d = nextScanDelay({ ...base, workers, workerId: w, wallNow: 777_777 });
      assert.ok(d > 0 && d <= 20_050 + 20_050 / 80, `${w}: ${d}`);
    }
  });

  test('nextPeerScanDelay: the soonest turn of another worker; none when alone', () => {
    const workers = ['a', 'b', 'c', 'd'];
    // Slots at 0, 2, 4, 6 s of an 8 s period. At 4.5 s, b (2 s) is 5.5 s away, c (4 s) 7.5 s, d (6 s) 1.5 s.
    assert.equal(nextPeerScanDelay({ ...base, workers, workerId: 'b', wallNow: 4_500 }), 1_500);
    // d's own slot is next (6 s) but it does not count: a's at 8 s is.
    assert.equal(nextPeerScanDelay({ ...base, workers, workerId: 'd', wallNow: 5_000 }), 3_000);
    assert.equal(nextPeerScanDelay({ ...base, workers: ['me'], workerId: 'me', wallNow: 5_000 }), undefined);
  });
});
