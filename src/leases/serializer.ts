/**
 * The lease item format of the Java KCL (see docs/lease-protocol.md, 'Lease item format'): exact attribute
 * names and types, numbers as decimal strings, string sets never empty, `entityType: "LEASE"` written, non-lease
 * items skipped.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { extendedSequenceNumber, type ExtendedSequenceNumber } from '../checkpoint/sequence.js';
import type { Lease } from './lease.js';

export type Item = Record<string, AttributeValue>;

export const LEASE_ENTITY_TYPE = 'LEASE';

export function leaseToItem(lease: Lease): Item {
  const item: Item = {
    leaseKey: { S: lease.leaseKey },
    leaseCounter: { N: String(lease.leaseCounter) },
    checkpoint: { S: lease.checkpoint.sequenceNumber },
    checkpointSubSequenceNumber: { N: String(lease.checkpoint.subSequenceNumber) },
    ownerSwitchesSinceCheckpoint: { N: String(lease.ownerSwitchesSinceCheckpoint) },
    entityType: { S: LEASE_ENTITY_TYPE },
  };
  if (lease.leaseOwner) item.leaseOwner = { S: lease.leaseOwner };
  if (lease.parentShardIds.length > 0) item.parentShardId = { SS: [...lease.parentShardIds] };
  if (lease.childShardIds.length > 0) item.childShardIds = { SS: [...lease.childShardIds] };
  if (lease.hashKeyRange) {
    item.startingHashKey = { S: lease.hashKeyRange.startingHashKey };
    item.endingHashKey = { S: lease.hashKeyRange.endingHashKey };
  }
  if (lease.pendingCheckpoint) {
    item.pendingCheckpoint = { S: lease.pendingCheckpoint.sequenceNumber };
    item.pendingCheckpointSubSequenceNumber = { N: String(lease.pendingCheckpoint.subSequenceNumber) };
  }
  if (lease.checkpointOwner) item.checkpointOwner = { S: lease.checkpointOwner };
  if (lease.throughputKBps !== undefined) item.throughputKBps = { N: String(lease.throughputKBps) };
  return item;
}

/** Returns undefined for items that are not leases (3.5 single-table items such as worker metrics). */
export function itemToLease(item: Item): Lease | undefined {
  const entityType = item.entityType?.S;
  if (entityType !== undefined && entityType !== LEASE_ENTITY_TYPE) return undefined;
  const leaseKey = item.leaseKey?.S;
  if (!leaseKey) return undefined;
  const checkpoint = readCheckpoint(item.checkpoint?.S, item.checkpointSubSequenceNumber?.N) ?? extendedSequenceNumber('TRIM_HORIZON');
  const starting = item.startingHashKey?.S;
  const ending = item.endingHashKey?.S;
  return {
    leaseKey,
    leaseOwner: item.leaseOwner?.S || undefined,
    leaseCounter: Number(item.leaseCounter?.N ?? '0'),
    checkpoint,
    pendingCheckpoint: readCheckpoint(item.pendingCheckpoint?.S, item.pendingCheckpointSubSequenceNumber?.N),
    ownerSwitchesSinceCheckpoint: Number(item.ownerSwitchesSinceCheckpoint?.N ?? '0'),
    parentShardIds: item.parentShardId?.SS ?? [],
    childShardIds: item.childShardIds?.SS ?? [],
    hashKeyRange: starting !== undefined && ending !== undefined ? { startingHashKey: starting, endingHashKey: ending } : undefined,
    checkpointOwner: item.checkpointOwner?.S || undefined,
    throughputKBps: item.throughputKBps?.N !== undefined ? Number(item.throughputKBps.N) : undefined,
  };
}

function readCheckpoint(seq: string | undefined, sub: string | undefined): ExtendedSequenceNumber | undefined {
  if (seq === undefined) return undefined;
  return extendedSequenceNumber(seq, sub === undefined ? 0 : Number(sub));
}
