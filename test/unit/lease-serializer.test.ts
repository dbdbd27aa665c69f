/**
 * The Java-compatible lease item format (docs/lease-protocol.md, 'Lease item format'): exact attribute names and DynamoDB types,
 * absent attributes instead of empty values, items written by the Java KCL readable, non-lease items skipped.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { itemToLease, leaseToItem, LEASE_ENTITY_TYPE, type Item } from '../../src/leases/serializer.js';
import type { Lease } from '../../src/leases/lease.js';

const SEQ = '49590338271490256608559692538361571095921575989136588898';
const MAX_HASH = '340282366920938463463374607431768211455';

const minimal: Lease = {
  leaseKey: 'shardId-000000000000',
  leaseCounter: 0,
  checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
  ownerSwitchesSinceCheckpoint: 0,
  parentShardIds: [],
  childShardIds: [],
};

const full: Lease = {
  leaseKey: 'shardId-000000000007',
  leaseOwner: 'worker-a:1b2c',
  leaseCounter: 42,
  checkpoint: { sequenceNumber: SEQ, subSequenceNumber: 3 },
  pendingCheckpoint: { sequenceNumber: '49590338271490256608559692538361571095921575989136599999', subSequenceNumber: 1 },
  ownerSwitchesSinceCheckpoint: 2,
  parentShardIds: ['shardId-000000000001', 'shardId-000000000002'],
  childShardIds: ['shardId-000000000009'],
  hashKeyRange: { startingHashKey: '0', endingHashKey: MAX_HASH },
  checkpointOwner: 'worker-b:9f8e',
  throughputKBps: 12.345678,
};

describe('leaseToItem', () => {
  test('an unowned lease with no parents: exactly these attributes and types (no leaseOwner, no parentShardId)', () => {
    assert.deepEqual(leaseToItem(minimal), {
      leaseKey: { S: 'shardId-000000000000' },
      leaseCounter: { N: '0' },
      checkpoint: { S: 'TRIM_HORIZON' },
      checkpointSubSequenceNumber: { N: '0' },
      ownerSwitchesSinceCheckpoint: { N: '0' },
      entityType: { S: 'LEASE' },
    });
    assert.equal(LEASE_ENTITY_TYPE, 'LEASE');
  });

  test('every optional field set: Java attribute names with S / N / SS types', () => {
    assert.deepEqual(leaseToItem(full), {
      leaseKey: { S: 'shardId-000000000007' },
      leaseOwner: { S: 'worker-a:1b2c' },
      leaseCounter: { N: '42' },
      checkpoint: { S: SEQ },
      checkpointSubSequenceNumber: { N: '3' },
      ownerSwitchesSinceCheckpoint: { N: '2' },
      parentShardId: { SS: ['shardId-000000000001', 'shardId-000000000002'] },
      childShardIds: { SS: ['shardId-000000000009'] },
      startingHashKey: { S: '0' },
      endingHashKey: { S: MAX_HASH },
      pendingCheckpoint: { S: '49590338271490256608559692538361571095921575989136599999' },
      pendingCheckpointSubSequenceNumber: { N: '1' },
      checkpointOwner: { S: 'worker-b:9f8e' },
      throughputKBps: { N: '12.345678' },
      entityType: { S: 'LEASE' },
    });
  });

  test('an empty-string owner is omitted, never written as ""', () => {
    const item = leaseToItem({ ...minimal, leaseOwner: '' });
    assert.equal('leaseOwner' in item, false);
  });

  test('empty child list is omitted (DynamoDB has no empty sets)', () => {
    const item = leaseToItem({ ...minimal, parentShardIds: ['p'], childShardIds: [] });
    assert.deepEqual(item.parentShardId, { SS: ['p'] });
    assert.equal('childShardIds' in item, false);
  });

  test('sentinel checkpoint is the literal name with sub-sequence 0', () => {
    const item = leaseToItem({ ...minimal, checkpoint: { sequenceNumber: 'SHARD_END', subSequenceNumber: 0 } });
    assert.deepEqual(item.checkpoint, { S: 'SHARD_END' });
    assert.deepEqual(item.checkpointSubSequenceNumber, { N: '0' });
  });

  test('throughputKBps 0 is written (0 is a value, not "absent")', () => {
    assert.deepEqual(leaseToItem({ ...minimal, throughputKBps: 0 }).throughputKBps, { N: '0' });
  });

  test('the item does not share arrays with the lease', () => {
    const parents = ['p1'];
    const item = leaseToItem({ ...minimal, parentShardIds: parents });
    parents.push('p2');
    assert.deepEqual(item.parentShardId, { SS: ['p1'] });
  });
});

describe('itemToLease', () => {
  test('round-trips a lease with every field set', () => {
    assert.deepEqual(itemToLease(leaseToItem(full)), full);
  });

  test('round-trips a minimal lease through item → lease → item', () => {
    const item = leaseToItem(minimal);
    const back = itemToLease(item);
    assert.ok(back);
    assert.equal(back.leaseOwner, undefined);
    assert.deepEqual(back.parentShardIds, []);
    assert.deepEqual(back.childShardIds, []);
    assert.equal(back.hashKeyRange, undefined);
    assert.equal(back.pendingCheckpoint, undefined);
    assert.equal(back.checkpointOwner, undefined);
    assert.equal(back.throughputKBps, undefined);
    assert.deepEqual(leaseToItem(back), item);
  });

  test('reads an item written by the Java KCL 2.x (no entityType, unknown attributes, sentinel checkpoint, SS parents)', () => {
    const javaItem: Item = {
      leaseKey: { S: 'shardId-000000000012' },
      leaseOwner: { S: 'ip-10-0-0-1.ec2.internal:4f0c2b8e-9d3a-4e1b-a0c7-1234567890ab' },
      leaseCounter: { N: '1337' },
      checkpoint: { S: 'SHARD_END' },
      checkpointSubSequenceNumber: { N: '0' },
      ownerSwitchesSinceCheckpoint: { N: '5' },
      parentShardId: { SS: ['shardId-000000000010', 'shardId-000000000011'] },
      childShardIds: { SS: ['shardId-000000000013'] },
      startingHashKey: { S: '170141183460469231731687303715884105728' },
      endingHashKey: { S: MAX_HASH },
      // Attributes we do not model must not break reading.
      pendingCheckpointState: { B: new Uint8Array([1, 2, 3]) },
      someFutureAttribute: { S: 'whatever' },
      leaseLastModified: { N: '1700000000000' },
    };
    assert.deepEqual(itemToLease(javaItem), {
      leaseKey: 'shardId-000000000012',
      leaseOwner: 'ip-10-0-0-1.ec2.internal:4f0c2b8e-9d3a-4e1b-a0c7-1234567890ab',
      leaseCounter: 1337,
      checkpoint: { sequenceNumber: 'SHARD_END', subSequenceNumber: 0 },
      pendingCheckpoint: undefined,
      ownerSwitchesSinceCheckpoint: 5,
      parentShardIds: ['shardId-000000000010', 'shardId-000000000011'],
      childShardIds: ['shardId-000000000013'],
      hashKeyRange: { startingHashKey: '170141183460469231731687303715884105728', endingHashKey: MAX_HASH },
      checkpointOwner: undefined,
      throughputKBps: undefined,
    });
  });

  test('reads an unowned Java lease at a real sequence number with a sub-sequence', () => {
    const lease = itemToLease({
      leaseKey: { S: 'shardId-000000000003' },
      leaseCounter: { N: '7' },
      checkpoint: { S: SEQ },
      checkpointSubSequenceNumber: { N: '12' },
      ownerSwitchesSinceCheckpoint: { N: '0' },
      entityType: { S: 'LEASE' },
    });
    assert.ok(lease);
    assert.equal(lease.leaseOwner, undefined);
    assert.equal(lease.leaseCounter, 7);
    assert.deepEqual(lease.checkpoint, { sequenceNumber: SEQ, subSequenceNumber: 12 });
  });

  test('an item without checkpointSubSequenceNumber reads sub-sequence 0', () => {
    const lease = itemToLease({ leaseKey: { S: 'k' }, leaseCounter: { N: '1' }, checkpoint: { S: '123' } });
    assert.deepEqual(lease?.checkpoint, { sequenceNumber: '123', subSequenceNumber: 0 });
    assert.equal(lease?.ownerSwitchesSinceCheckpoint, 0);
  });

  for (const entityType of ['WORKER_METRIC_STATS', 'LEADER', 'CLIENT_VERSION_MIGRATION', 'TABLE_MIGRATION', 'STREAM']) {
    test(`an item with entityType ${entityType} is skipped (undefined)`, () => {
      const item: Item = {
        leaseKey: { S: entityType === 'LEADER' ? 'Leader' : 'worker-a' },
        entityType: { S: entityType },
        leaseCounter: { N: '3' },
        checkpoint: { S: 'LATEST' },
      };
      assert.equal(itemToLease(item), undefined);
    });
  }

  test('a worker-metrics item with its own fields is skipped', () => {
    const item: Item = {
      leaseKey: { S: 'worker-a' },
      entityType: { S: 'WORKER_METRIC_STATS' },
      lut: { N: '1700000000' },
      sts: { M: { CPU: { L: [{ N: '12.5' }] } } },
    };
    assert.equal(itemToLease(item), undefined);
  });

  test('a lock-client leader item is skipped', () => {
    const item: Item = {
      leaseKey: { S: 'Leader' },
      entityType: { S: 'LEADER' },
      ownerName: { S: 'worker-a' },
      leaseDuration: { S: '120000' },
      recordVersionNumber: { S: '1b9c0c3e-0000-4000-8000-000000000000' },
    };
    assert.equal(itemToLease(item), undefined);
  });
});
