/**
 * `kcl status` without --watch on a large table: the rows stop at the limit with a line saying how many were left
 * out, followed by the leases per owner; a small table prints as before. Also the lease keys named in the
 * renewal warnings of a worker holding thousands of leases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extendedSequenceNumber } from '../../src/checkpoint/sequence.js';
import { formatStatus } from '../../src/cli/commands/status.js';
import type { Lease } from '../../src/leases/lease.js';
import { someKeys } from '../../src/leases/renewal-health.js';

function lease(i: number, owner?: string, extra: Partial<Lease> = {}): Lease {
  return {
    leaseKey: `shardId-${String(i).padStart(12, '0')}`,
    ...(owner ? { leaseOwner: owner } : {}),
    leaseCounter: 3,
    checkpoint: extendedSequenceNumber('TRIM_HORIZON'),
    ownerSwitchesSinceCheckpoint: 0,
    parentShardIds: [],
    childShardIds: [],
    ...extra,
  };
}

test('a table within the limit: the title, the header and one row per lease, nothing else', () => {
  const lines = formatStatus('app', [lease(0, 'w1'), lease(1)], 200).trimEnd().split('\n');
  assert.equal(lines.length, 4);
  assert.equal(lines[0], 'lease table app: 2 leases');
  assert.match(lines[1]!, /^SHARD\s+OWNER\s+COUNTER\s+CHECKPOINT\s+SUBSEQ\s+PARENTS$/);
  assert.match(lines[2]!, /^shardId-000000000000\s+w1\s+3\s+TRIM_HORIZON\s+0\s+-$/);
  assert.match(lines[3]!, /^shardId-000000000001\s+-\s+3/);
});

test('beyond the limit: the first rows, how many were left out, then the leases per owner', () => {
  const leases = Array.from({ length: 10_000 }, (_, i) =>
    i === 9_999 ? lease(i) : lease(i, `w${i % 3}`, i === 5 ? { checkpoint: extendedSequenceNumber('SHARD_END') } : i === 7 ? { leaseOwner: 'w2', checkpointOwner: 'w1' } : {}),
  );
  const lines = formatStatus('app', leases, 200).trimEnd().split('\n');
  assert.equal(lines[0], 'lease table app: 10000 leases');
  assert.match(lines[1]!, /^SHARD\s+OWNER/);
  assert.match(lines[201]!, /^shardId-000000000199\s/);
  assert.equal(lines[202], '… 9800 more leases not shown (--all prints every row, --limit sets how many, --json gives them all to scripts)');
  assert.equal(lines[203], '');
  assert.deepEqual(lines.slice(204).map((l) => l.split(/\s+/)), [
    ['OWNER', 'LEASES', 'SHARD_END', 'HANDOFFS_TO'],
    ['(unowned)', '1', '0', '0'],
    ['w0', '3333', '0', '0'],
    ['w1', '3332', '0', '0'],
    ['w2', '3334', '1', '1'],
  ]);
  assert.equal(formatStatus('app', leases, 200, true).trimEnd().split('\n').length, 10_002, '--all: every row');
});

test('a warning names the first ten lease keys and how many more', () => {
  const keys = Array.from({ length: 2_500 }, (_, i) => `s${i}`);
  assert.equal(someKeys(keys), 's0, s1, s2, s3, s4, s5, s6, s7, s8, s9 and 2490 more');
  assert.equal(someKeys(keys.slice(0, 10)), keys.slice(0, 10).join(', '));
});
