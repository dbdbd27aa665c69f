/** Which finished leases may be deleted: scenario table over one scan (src/shards/cleanup.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leasesToCleanUp } from '../../src/shards/cleanup.js';
import type { Lease } from '../../src/leases/lease.js';

function lease(key: string, checkpoint: string, parents: string[] = [], children: string[] = []): Lease {
  return { leaseKey: key, leaseCounter: 1, checkpoint: { sequenceNumber: checkpoint, subSequenceNumber: 0 }, ownerSwitchesSinceCheckpoint: 0, parentShardIds: parents, childShardIds: children };
}

const scenarios: { name: string; leases: Lease[]; expected: string[] }[] = [
  { name: 'nothing finished', leases: [lease('a', '100'), lease('b', 'TRIM_HORIZON')], expected: [] },
  {
    name: 'split parent whose children both checkpointed is deleted',
    leases: [lease('p', 'SHARD_END', [], ['c1', 'c2']), lease('c1', '200', ['p']), lease('c2', 'SHARD_END', ['p'])],
    expected: ['p'],
  },
  {
    name: 'a child still at TRIM_HORIZON keeps the parent',
    leases: [lease('p', 'SHARD_END', [], ['c1', 'c2']), lease('c1', '200', ['p']), lease('c2', 'TRIM_HORIZON', ['p'])],
    expected: [],
  },
  { name: 'a missing child lease keeps the parent', leases: [lease('p', 'SHARD_END', [], ['c1', 'c2']), lease('c1', '200', ['p'])], expected: [] },
  { name: 'unknown children keep the parent', leases: [lease('p', 'SHARD_END'), lease('c1', '200', ['p'])], expected: [] },
  {
    name: 'oldest first: a parent whose own parent is still there waits',
    leases: [
      lease('g', 'SHARD_END', [], ['p']),
      lease('p', 'SHARD_END', ['g'], ['c']),
      lease('c', '300', ['p']),
    ],
    expected: ['g'],
  },
  {
    name: 'merge parents both go once the merged child started',
    leases: [lease('p1', 'SHARD_END', [], ['m']), lease('p2', 'SHARD_END', [], ['m']), lease('m', '400', ['p1', 'p2'])],
    expected: ['p1', 'p2'],
  },
];

for (const s of scenarios) {
  test(s.name, () => assert.deepEqual(leasesToCleanUp(s.leases).sort(), s.expected));
}
