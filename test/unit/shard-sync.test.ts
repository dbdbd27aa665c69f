/**
 * computeLeasesToCreate (src/shards/shard-sync.ts): which leases a shard sync creates, at which checkpoint and
 * with which parents, in parents-before-children order. docs/differences-from-java.md, 'Shards' says how the Java rules differ; ours are
 * the ones documented on the function, and the Java docs example below shows where they differ.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Shard } from '@aws-sdk/client-kinesis';
import { computeLeasesToCreate, toShardInfo, type ShardInfo } from '../../src/shards/shard-sync.js';
import type { InitialPosition } from '../../src/config/config.js';
import type { Lease } from '../../src/leases/lease.js';

/** shard(id, start, end|undefined, ...parents) */
function shard(id: string, start: number, end: number | undefined, ...parents: string[]): ShardInfo {
  return {
    shardId: id,
    parentShardIds: parents,
    startingSequenceNumber: String(start),
    ...(end === undefined ? {} : { endingSequenceNumber: String(end) }),
  };
}

/** A compact view of a created lease: key, checkpoint, parents. */
type Row = [key: string, checkpoint: string, parents: string[]];
const rows = (leases: Lease[]): Row[] => leases.map((l) => [l.leaseKey, l.checkpoint.sequenceNumber, [...l.parentShardIds]]);

interface Case {
  name: string;
  shards: ShardInfo[];
  existing: string[];
  initial: InitialPosition;
  expected: Row[];
}

// A small resharding history used by several cases:
//   r0 (closed) splits into c1 (open) and c2 (closed); c2 merges with r3 (closed root) into m4 (open);
//   o5 is an open root that never changed.
const history: ShardInfo[] = [
  shard('r0', 100, 199),
  shard('r3', 110, 299),
  shard('o5', 120, undefined),
  shard('c1', 200, undefined, 'r0'),
  shard('c2', 210, 299, 'r0'),
  shard('m4', 300, undefined, 'c2', 'r3'),
];

const cases: Case[] = [
  {
    name: 'empty table, LATEST: only open shards, at LATEST; parents recorded when present in the list',
    shards: history,
    existing: [],
    initial: 'LATEST',
    expected: [
      ['o5', 'LATEST', []],
      ['c1', 'LATEST', ['r0']],
      ['m4', 'LATEST', ['c2', 'r3']],
    ],
  },
  {
    name: 'empty table, LATEST: a parent missing from the list is not recorded',
    shards: [shard('c1', 200, undefined, 'gone-0'), shard('m4', 300, undefined, 'gone-1', 'c1x'), shard('c1x', 250, 260)],
    existing: [],
    initial: 'LATEST',
    expected: [
      ['c1', 'LATEST', []],
      ['m4', 'LATEST', ['c1x']],
    ],
  },
  {
    name: 'empty table, TRIM_HORIZON: roots at TRIM_HORIZON, descendants at TRIM_HORIZON with their parents',
    shards: history,
    existing: [],
    initial: 'TRIM_HORIZON',
    expected: [
      ['r0', 'TRIM_HORIZON', []],
      ['r3', 'TRIM_HORIZON', []],
      ['o5', 'TRIM_HORIZON', []],
      ['c1', 'TRIM_HORIZON', ['r0']],
      ['c2', 'TRIM_HORIZON', ['r0']],
      ['m4', 'TRIM_HORIZON', ['c2', 'r3']],
    ],
  },
  {
    name: 'empty table, AT_TIMESTAMP: roots (open or closed) at AT_TIMESTAMP, descendants at TRIM_HORIZON',
    shards: history,
    existing: [],
    initial: 'AT_TIMESTAMP',
    expected: [
      ['r0', 'AT_TIMESTAMP', []],
      ['r3', 'AT_TIMESTAMP', []],
      ['o5', 'AT_TIMESTAMP', []],
      ['c1', 'TRIM_HORIZON', ['r0']],
      ['c2', 'TRIM_HORIZON', ['r0']],
      ['m4', 'TRIM_HORIZON', ['c2', 'r3']],
    ],
  },
  {
    name: 'empty table, TRIM_HORIZON: a shard whose parents are not in the list is a root',
    shards: [shard('c7', 700, undefined, 'trimmed-1', 'trimmed-2')],
    existing: [],
    initial: 'TRIM_HORIZON',
    expected: [['c7', 'TRIM_HORIZON', []]],
  },
  {
    name: 'non-empty table: new open child whose parent is leased → TRIM_HORIZON child (any initial position)',
    shards: [shard('p0', 100, 199), shard('k1', 200, undefined, 'p0')],
    existing: ['p0'],
    initial: 'LATEST',
    expected: [['k1', 'TRIM_HORIZON', ['p0']]],
  },
  {
    name: 'non-empty table: new open merge child whose two parents are leased → TRIM_HORIZON with both parents',
    shards: [shard('p0', 100, 199), shard('p1', 101, 199), shard('m2', 200, undefined, 'p0', 'p1')],
    existing: ['p0', 'p1'],
    initial: 'LATEST',
    expected: [['m2', 'TRIM_HORIZON', ['p0', 'p1']]],
  },
  {
    name: 'non-empty table: closed child of a leased parent is created, and so is its open child below it',
    shards: [shard('p0', 100, 199), shard('k1', 200, 299, 'p0'), shard('g2', 300, undefined, 'k1')],
    existing: ['p0'],
    initial: 'LATEST',
    expected: [
      ['k1', 'TRIM_HORIZON', ['p0']],
      ['g2', 'TRIM_HORIZON', ['k1']],
    ],
  },
  {
    name: 'non-empty table: closed shard with no leased parent → no lease (it finished and was cleaned up)',
    shards: [shard('old0', 100, 199), shard('old1', 200, 299, 'old0'), shard('k2', 300, undefined, 'old1')],
    existing: ['k2'],
    initial: 'TRIM_HORIZON',
    expected: [],
  },
  {
    name: 'non-empty table: closed root with no lease → no lease, even under TRIM_HORIZON',
    shards: [shard('done', 100, 199), shard('live', 100, undefined)],
    existing: ['live'],
    initial: 'TRIM_HORIZON',
    expected: [],
  },
  {
    name: 'non-empty table: open root with no lease → initial position (LATEST)',
    shards: [shard('a', 100, undefined), shard('b', 150, undefined)],
    existing: ['a'],
    initial: 'LATEST',
    expected: [['b', 'LATEST', []]],
  },
  {
    name: 'non-empty table: open root with no lease → initial position (TRIM_HORIZON)',
    shards: [shard('a', 100, undefined), shard('b', 150, undefined)],
    existing: ['a'],
    initial: 'TRIM_HORIZON',
    expected: [['b', 'TRIM_HORIZON', []]],
  },
  {
    name: 'non-empty table: open root with no lease → initial position (AT_TIMESTAMP)',
    shards: [shard('a', 100, undefined), shard('b', 150, undefined)],
    existing: ['a'],
    initial: 'AT_TIMESTAMP',
    expected: [['b', 'AT_TIMESTAMP', []]],
  },
  {
    name: 'non-empty table: open shard below an unleased closed parent → TRIM_HORIZON, never LATEST',
    shards: [shard('a', 100, undefined), shard('p', 100, 199), shard('k', 200, undefined, 'p')],
    existing: ['a'],
    initial: 'LATEST',
    expected: [['k', 'TRIM_HORIZON', ['p']]],
  },
  {
    name: 'everything already leased → nothing',
    shards: history,
    existing: ['r0', 'r3', 'o5', 'c1', 'c2', 'm4'],
    initial: 'TRIM_HORIZON',
    expected: [],
  },
  {
    name: 'leases for shards no longer in the stream do not matter; the open shards are covered',
    shards: [shard('x', 100, undefined)],
    existing: ['x', 'deleted-long-ago'],
    initial: 'LATEST',
    expected: [],
  },
  {
    name: 'no shards at all → nothing',
    shards: [],
    existing: [],
    initial: 'TRIM_HORIZON',
    expected: [],
  },
];

describe('computeLeasesToCreate: scenario table', () => {
  for (const c of cases) {
    test(c.name, () => {
      const created = computeLeasesToCreate(c.shards, new Set(c.existing), c.initial);
      assert.deepEqual(rows(created), c.expected);
    });
  }
});

describe('computeLeasesToCreate: the Java docs example', () => {
  //   0 1 2 3 4   5     <- shards till epoch 102 (0,1,2,3,5 closed at 199)
  //   \ / \ / |   |
  //    6   7  4   5     <- epoch 103-205 (6, 7 closed at 299)
  //     \ /   |  / \
  //      8    4 9   10  <- epoch 206+ (8, 4, 9, 10 open)
  // Existing leases: {4, 5, 7}.
  const s = (n: number) => `shardId-${String(n).padStart(12, '0')}`;
  const javaExample: ShardInfo[] = [
    shard(s(0), 100, 199),
    shard(s(1), 101, 199),
    shard(s(2), 102, 199),
    shard(s(3), 103, 199),
    shard(s(4), 104, undefined),
    shard(s(5), 105, 199),
    shard(s(6), 200, 299, s(0), s(1)),
    shard(s(7), 201, 299, s(2), s(3)),
    shard(s(8), 300, undefined, s(6), s(7)),
    shard(s(9), 301, undefined, s(5)),
    shard(s(10), 302, undefined, s(5)),
  ];
  const existing = new Set([s(4), s(5), s(7)]);

  // Java (docs/differences-from-java.md, 'Shards') creates LATEST → {6}, TRIM_HORIZON → {0, 1}, AT_TIMESTAMP → {0, 1}: it treats the
  // unleased ancestors of open shard 8 as a gap to fill (the first missing ancestor level), and leaves 8, 9 and 10
  // to be created from ChildShards when 6/7 and 5 reach SHARD_END.
  //
  // Our rules (module doc of computeLeasesToCreate) differ: in a non-empty table a closed shard without a lease
  // and without a leased parent is assumed finished and cleaned up, so 0, 1, 2, 3 and 6 get nothing; the open
  // shards 8 (parents 6, 7 — 7 leased, 6 not), 9 and 10 (parent 5 leased) get leases now, all at TRIM_HORIZON
  // whatever the initial position. Their consumers wait for the parent leases that exist (7 and 5) to reach
  // SHARD_END; 6 has no lease so it does not block. Consequence versus Java: records of 6 (and under
  // TRIM_HORIZON/AT_TIMESTAMP of 0 and 1) are never processed, because we assume they already were.
  const ours: Row[] = [
    [s(8), 'TRIM_HORIZON', [s(6), s(7)]],
    [s(9), 'TRIM_HORIZON', [s(5)]],
    [s(10), 'TRIM_HORIZON', [s(5)]],
  ];
  for (const initial of ['LATEST', 'TRIM_HORIZON', 'AT_TIMESTAMP'] as const) {
    test(`existing {4, 5, 7}, ${initial}: creates 8, 9, 10 at TRIM_HORIZON (Java: ${initial === 'LATEST' ? '{6}' : '{0, 1}'})`, () => {
      assert.deepEqual(rows(computeLeasesToCreate(javaExample, existing, initial)), ours);
    });
  }

  test('same shards, empty table, TRIM_HORIZON: every shard, parents before children', () => {
    const created = computeLeasesToCreate(javaExample, new Set(), 'TRIM_HORIZON');
    assert.deepEqual(
      created.map((l) => l.leaseKey),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(s),
    );
    assert.ok(created.every((l) => l.checkpoint.sequenceNumber === 'TRIM_HORIZON'));
  });

  test('same shards, empty table, LATEST: only the open shards 4, 8, 9, 10', () => {
    const created = computeLeasesToCreate(javaExample, new Set(), 'LATEST');
    assert.deepEqual(rows(created), [
      [s(4), 'LATEST', []],
      [s(8), 'LATEST', [s(6), s(7)]],
      [s(9), 'LATEST', [s(5)]],
      [s(10), 'LATEST', [s(5)]],
    ]);
  });
});

describe('computeLeasesToCreate: ordering and lease shape', () => {
  test('result is in ascending starting sequence number (BigInt), so parents come before children, whatever the input order', () => {
    const big = (n: bigint) => (2n ** 80n + n).toString();
    const shards: ShardInfo[] = [
      { shardId: 'g', parentShardIds: ['k'], startingSequenceNumber: big(1000n) },
      { shardId: 'k', parentShardIds: ['p'], startingSequenceNumber: big(100n), endingSequenceNumber: big(999n) },
      { shardId: 'p', parentShardIds: [], startingSequenceNumber: '99', endingSequenceNumber: big(99n) },
      // Lexicographically "9..." > "1...", numerically smaller: must come before g.
      { shardId: 'q', parentShardIds: [], startingSequenceNumber: '900' },
    ];
    const created = computeLeasesToCreate(shards, new Set(), 'TRIM_HORIZON');
    assert.deepEqual(created.map((l) => l.leaseKey), ['p', 'q', 'k', 'g']);
    const position = new Map(created.map((l, i) => [l.leaseKey, i]));
    for (const l of created) {
      for (const parent of l.parentShardIds) assert.ok(position.get(parent)! < position.get(l.leaseKey)!, `${parent} before ${l.leaseKey}`);
    }
  });

  test('equal starting sequence numbers are ordered by shard id', () => {
    const created = computeLeasesToCreate([shard('shardId-000000000002', 5, undefined), shard('shardId-000000000001', 5, undefined)], new Set(), 'LATEST');
    assert.deepEqual(created.map((l) => l.leaseKey), ['shardId-000000000001', 'shardId-000000000002']);
  });

  test('a created lease is unowned, counter 0, sub-sequence 0, no children, with the shard hash range', () => {
    const range = { startingHashKey: '0', endingHashKey: '340282366920938463463374607431768211455' };
    const created = computeLeasesToCreate([{ ...shard('a', 1, undefined), hashKeyRange: range }], new Set(), 'LATEST');
    assert.equal(created[0]?.leaseOwner, undefined);
    assert.deepEqual(created, [
      {
        leaseKey: 'a',
        leaseCounter: 0,
        checkpoint: { sequenceNumber: 'LATEST', subSequenceNumber: 0 },
        ownerSwitchesSinceCheckpoint: 0,
        parentShardIds: [],
        childShardIds: [],
        hashKeyRange: range,
      },
    ]);
  });

  test('the input array is not reordered', () => {
    const input = [shard('b', 2, undefined), shard('a', 1, undefined)];
    computeLeasesToCreate(input, new Set(), 'LATEST');
    assert.deepEqual(input.map((x) => x.shardId), ['b', 'a']);
  });
});

describe('toShardInfo', () => {
  test('maps parent + adjacent parent, sequence range and hash range', () => {
    const s: Shard = {
      ShardId: 'shardId-000000000003',
      ParentShardId: 'shardId-000000000001',
      AdjacentParentShardId: 'shardId-000000000002',
      HashKeyRange: { StartingHashKey: '0', EndingHashKey: '170141183460469231731687303715884105727' },
      SequenceNumberRange: { StartingSequenceNumber: '4959', EndingSequenceNumber: '4960' },
    };
    assert.deepEqual(toShardInfo(s), {
      shardId: 'shardId-000000000003',
      parentShardIds: ['shardId-000000000001', 'shardId-000000000002'],
      startingSequenceNumber: '4959',
      endingSequenceNumber: '4960',
      hashKeyRange: { startingHashKey: '0', endingHashKey: '170141183460469231731687303715884105727' },
    });
  });
  test('an open root shard has no parents and no ending sequence number', () => {
    const info = toShardInfo({
      ShardId: 'shardId-000000000000',
      HashKeyRange: { StartingHashKey: '0', EndingHashKey: '1' },
      SequenceNumberRange: { StartingSequenceNumber: '1' },
    });
    assert.deepEqual(info.parentShardIds, []);
    assert.equal(info.endingSequenceNumber, undefined);
  });
});
