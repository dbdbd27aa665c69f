/**
 * Pure lease decisions (see docs/lease-protocol.md: 'Expiry' without synchronized clocks, 'Taking and
 * stealing', 'Scan turns', 'Renewal', 'Graceful hand-off'), driven by the one-row-per-scenario table in
 * test/unit/scenarios/lease-decisions.ts plus a virtual time line for observe().
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  aliveWorkers,
  nextPeerScanDelay,
  nextScanDelay,
  nextTakerDelay,
  decideLeasesToTake,
  expiresAt,
  isAvailable,
  isHandoffRequest,
  observe,
  renewalAction,
  requesterStep,
  retriedWriteLanded,
  shuffleWith,
  type LeaseObservation,
} from '../../src/leases/decisions.js';
import { extendedSequenceNumber } from '../../src/checkpoint/sequence.js';
import type { Lease } from '../../src/leases/lease.js';
import { DEFAULTS, SCENARIOS } from './scenarios/lease-decisions.js';

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

/** `a=1 b=x,y` → {a: '1', b: 'x,y'}; a bare word is the key of a lease row. */
function fields(text: string): { key?: string; values: Map<string, string> } {
  const values = new Map<string, string>();
  let key: string | undefined;
  for (const word of text.split(' ').filter(Boolean)) {
    const eq = word.indexOf('=');
    if (eq < 0) key = word;
    else values.set(word.slice(0, eq), word.slice(eq + 1));
  }
  return { key, values };
}

const list = (value: string | undefined): string[] => (value ? value.split(',') : []);

/** One row of the table as decideLeasesToTake's input and the expected decision. */
function parseScenario(leaseRows: readonly string[], settingsText: string, expectedText: string) {
  const settings = new Map([...fields(DEFAULTS).values, ...fields(settingsText).values]);
  const leases: Lease[] = [];
  const observations = new Map<string, LeaseObservation>();
  for (const row of leaseRows) {
    const { key, values } = fields(row);
    const l = lease(key!, values.get('owner') ?? null, Number(values.get('counter') ?? 0), values.get('cp'), values.get('cpOwner'));
    leases.push(l);
    const seen = values.get('seen');
    if (seen !== undefined) observations.set(l.leaseKey, { counter: l.leaseCounter, lastChangeAt: seen === '-' ? undefined : Number(seen) });
  }
  const maxForWorker = settings.get('maxForWorker')!;
  const expected = fields(expectedText).values;
  return {
    input: {
      leases,
      observations,
      workerId: settings.get('me')!,
      now: Number(settings.get('now')),
      failoverMillis: Number(settings.get('failover')),
      maxLeasesForWorker: maxForWorker === 'none' ? Number.POSITIVE_INFINITY : Number(maxForWorker),
      maxLeasesToStealAtOneTime: Number(settings.get('maxSteal')),
      held: new Set(list(settings.get('held'))),
      shuffle: identity,
    },
    expected: {
      take: list(expected.get('take')),
      steal: expected.has('steal') ? list(expected.get('steal')) : undefined,
      stealCount: expected.has('stealCount') ? Number(expected.get('stealCount')) : undefined,
      stealFrom: expected.get('stealFrom'),
      target: Number(expected.get('target')),
      numWorkers: Number(expected.get('workers')),
      mine: expected.has('mine') ? Number(expected.get('mine')) : undefined,
    },
  };
}

describe('lease-decisions scenario table', () => {
  test('the table is not empty and its names are unique', () => {
    assert.ok(SCENARIOS.length >= 39, `only ${SCENARIOS.length} scenarios`);
    const names = SCENARIOS.map(([name]) => name);
    assert.equal(new Set(names).size, names.length, 'scenario names must be unique');
  });

  for (const [name, leaseRows, settings, expectedText] of SCENARIOS) {
    test(name, () => {
      const { input, expected: e } = parseScenario(leaseRows, settings, expectedText);
      const decision = decideLeasesToTake(input);
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
      for (const l of [...decision.take, ...decision.steal]) {
        assert.equal(input.held.has(l.leaseKey), false, `${l.leaseKey} is held`);
        assert.notEqual(l.checkpoint.sequenceNumber, 'SHARD_END', `${l.leaseKey} is at SHARD_END`);
      }
      for (const l of decision.steal) assert.notEqual(l.leaseOwner, input.workerId);
      // Returned leases are the scan's objects, not copies.
      for (const l of [...decision.take, ...decision.steal]) assert.ok(input.leases.includes(l));
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

describe('renewalAction: skip, drop or renew (renewal period 3000, failover 10000)', () => {
  // [since the last write, action]
  const rows: [number, string][] = [[0, 'skip'], [1499, 'skip'], [1500, 'renew'], [3000, 'renew'], [10_000, 'renew'], [10_001, 'drop']];
  for (const [since, action] of rows) test(`${since} ms since the last write → ${action}`, () => assert.equal(renewalAction(since, 3000, 10_000), action));
});

describe('retriedWriteLanded: the counter is one above ours with the owners as we left them', () => {
  const held = lease('s0', 'me', 5);
  // [current item, landed]
  const rows: [string, Lease | undefined, boolean][] = [
    ['counter +1, same owner', lease('s0', 'me', 6), true],
    ['counter +1 during a hand-off, owners unchanged', lease('s0', 'me', 6), true],
    ['counter +2', lease('s0', 'me', 7), false],
    ['counter unchanged', lease('s0', 'me', 5), false],
    ['counter +1, another owner', lease('s0', 'thief', 6), false],
    ['counter +1, a checkpointOwner appeared', lease('s0', 'me', 6, 'TRIM_HORIZON', 'x'), false],
    ['no item', undefined, false],
  ];
  for (const [name, current, landed] of rows) test(name, () => assert.equal(retriedWriteLanded(held, current), landed));
  test('a lease held as checkpointOwner (hand-off noticed) keeps both names', () => {
    const handing = lease('s0', 'req', 5, 'TRIM_HORIZON', 'me');
    assert.equal(retriedWriteLanded(handing, lease('s0', 'req', 6, 'TRIM_HORIZON', 'me')), true);
  });
});

describe('isHandoffRequest: another worker is leaseOwner, we are checkpointOwner, on our counter', () => {
  const held = lease('s0', 'me', 5);
  const rows: [string, Lease | undefined, boolean][] = [
    ['requested by req', lease('s0', 'req', 5, 'TRIM_HORIZON', 'me'), true],
    ['requested, but the counter moved since', lease('s0', 'req', 6, 'TRIM_HORIZON', 'me'), false],
    ['taken (no checkpointOwner)', lease('s0', 'req', 6), false],
    ['a hand-off of someone else', lease('s0', 'req', 5, 'TRIM_HORIZON', 'other'), false],
    ['leaseOwner is still us', lease('s0', 'me', 5, 'TRIM_HORIZON', 'me'), false],
    ['released (no owner)', lease('s0', null, 5, 'TRIM_HORIZON', 'me'), false],
    ['deleted', undefined, false],
  ];
  for (const [name, current, yes] of rows) test(name, () => assert.equal(isHandoffRequest(current, held, 'me'), yes));
});

describe('requesterStep: one read of a requested lease (failover 10000, hand-off timeout 30000)', () => {
  const requested = { from: 'old', requestedAt: 1000, counter: 5, lastChangeAt: 1000 };
  // [name, lease read, read at, expected kind (and reason)]
  const rows: [string, Lease | undefined, number, string][] = [
    ['completed: no checkpointOwner → take', lease('s0', 'me', 6), 2000, 'take'],
    ['moved to another worker → forget', lease('s0', 'other', 6), 2000, 'forget'],
    ['deleted → forget', undefined, 2000, 'forget'],
    ['holder still renewing → wait', lease('s0', 'me', 7, 'TRIM_HORIZON', 'old'), 20_000, 'wait'],
    ['holder silent for exactly the failover time → wait', lease('s0', 'me', 5, 'TRIM_HORIZON', 'old'), 11_000, 'wait'],
    ['holder silent 1 ms longer → take-over (owner stopped renewing)', lease('s0', 'me', 5, 'TRIM_HORIZON', 'old'), 11_001, 'take-over:owner stopped renewing'],
    ['renewing but overdue (timeout + failover) → take-over (timed out)', lease('s0', 'me', 9, 'TRIM_HORIZON', 'old'), 41_001, 'take-over:timed out'],
    ['renewing, exactly at timeout + failover → wait', lease('s0', 'me', 9, 'TRIM_HORIZON', 'old'), 41_000, 'wait'],
  ];
  for (const [name, read, at, want] of rows) {
    test(name, () => {
      const step = requesterStep(requested, read, 'me', at, 10_000, 30_000);
      assert.equal(step.kind === 'take-over' ? `${step.kind}:${step.reason}` : step.kind, want);
    });
  }
  test('wait brings the counter observation up to date only when the counter moved', () => {
    const moved = requesterStep(requested, lease('s0', 'me', 7, 'TRIM_HORIZON', 'old'), 'me', 5000, 10_000, 30_000);
    assert.deepEqual(moved, { kind: 'wait', handoff: { ...requested, counter: 7, lastChangeAt: 5000 } });
    const still = requesterStep(requested, lease('s0', 'me', 5, 'TRIM_HORIZON', 'old'), 'me', 5000, 10_000, 30_000);
    assert.deepEqual(still, { kind: 'wait', handoff: requested });
  });
});

describe('nextTakerDelay: when the taker wakes next', () => {
  const base = {
    turnDelayMillis: 8000,
    moved: 0,
    renewIntervalMillis: 3000,
    leases: [] as Lease[],
    observations: new Map<string, LeaseObservation>(),
    workerId: 'me',
    scanAt: 100_000,
    now: 100_000,
    failoverMillis: 10_000,
    epsilonMillis: 25,
  };
  test('nothing due: at the next turn', () => assert.equal(nextTakerDelay(base), 8000));
  test('after a move: the follow-up scan (1 s), or the renewal period if shorter', () => {
    assert.equal(nextTakerDelay({ ...base, moved: 1 }), 1000);
    assert.equal(nextTakerDelay({ ...base, moved: 2, renewIntervalMillis: 600 }), 600);
    assert.equal(nextTakerDelay({ ...base, moved: 0, unfinished: true }), 1000, 'a turn cut short with nothing taken is followed up too');
  });
  test('a foreign lease due to expire before the turn: just after it expires (+ epsilon + 1)', () => {
    const leases = [lease('s0', 'w2', 3), lease('s1', 'w2', 3)];
    const observations = new Map([['s0', { counter: 3, lastChangeAt: 95_000 }], ['s1', { counter: 3, lastChangeAt: 99_000 }]]);
    assert.equal(nextTakerDelay({ ...base, leases, observations }), 5000 + 25 + 1);
    // The takes took 200 ms: measured from now, not from the scan.
    assert.equal(nextTakerDelay({ ...base, leases, observations, now: 100_200 }), 4800 + 25 + 1);
  });
  test('own leases, SHARD_END leases and leases already expired at the scan do not wake it', () => {
    const leases = [lease('m', 'me', 3), lease('e', 'w2', 3, 'SHARD_END'), lease('x', 'w2', 3)];
    const observations = new Map([['m', { counter: 3, lastChangeAt: 95_000 }], ['e', { counter: 3, lastChangeAt: 95_000 }], ['x', { counter: 3, lastChangeAt: 80_000 }]]);
    assert.equal(nextTakerDelay({ ...base, leases, observations }), 8000);
  });
});

describe('aliveWorkers: this worker and the owners of unexpired leases', () => {
  test('expired and unowned leases do not count', () => {
    const leases = [lease('a', 'w2', 1), lease('b', 'dead', 1), lease('c', null, 1), lease('d', 'w3', 1)];
    const observations = new Map([['a', { counter: 1, lastChangeAt: 99_000 }], ['b', { counter: 1, lastChangeAt: 80_000 }], ['d', { counter: 1, lastChangeAt: 95_000 }]]);
    assert.deepEqual(aliveWorkers(leases, observations, 'me', 100_000, 10_000).sort(), ['me', 'w2', 'w3']);
  });
});
