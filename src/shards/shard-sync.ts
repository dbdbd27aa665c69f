/**
 * Shard sync: ListShards paging, one lease per shard with the right starting position (initial position for
 * roots, TRIM_HORIZON below a parent so nothing is skipped), and child leases at shard end (docs/shards.md).
 */
import { ListShardsCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';
import { AWS_DEADLINES, callAws, type AwsCallOutcome } from '../aws/call.js';
import { awsErrorKind } from '../aws/errors.js';
import { retry, RETRY } from '../common/retry.js';
import { InvalidStateException } from '../common/errors.js';
import type { Clock } from '../common/clock.js';
import { hashKeyRangeOf, type HashKeyRange } from '../common/hash-key-range.js';
import { sentinel, TRIM_HORIZON, type ExtendedSequenceNumber } from '../checkpoint/sequence.js';
import type { InitialPosition } from '../config/config.js';
import type { Lease } from '../leases/lease.js';
import type { LeaseStore } from '../leases/lease-store.js';
import type { ChildShard } from '../processor/types.js';
import { sendArgs } from '../aws/call-signal.js';

export interface ShardInfo {
  readonly shardId: string;
  readonly parentShardIds: readonly string[];
  readonly startingSequenceNumber: string;
  readonly endingSequenceNumber?: string;
  readonly hashKeyRange?: HashKeyRange;
}

export function toShardInfo(shard: Shard): ShardInfo {
  return {
    shardId: shard.ShardId ?? '',
    parentShardIds: [shard.ParentShardId, shard.AdjacentParentShardId].filter((p): p is string => Boolean(p)),
    startingSequenceNumber: shard.SequenceNumberRange?.StartingSequenceNumber ?? '0',
    endingSequenceNumber: shard.SequenceNumberRange?.EndingSequenceNumber,
    hashKeyRange: hashKeyRangeOf(shard.HashKeyRange),
  };
}

/**
 * Every shard of the stream, following NextToken. Each page is retried by the retry policy (throttling, a
 * dropped connection); a missing stream is an error that says what to check.
 */
export async function listShards(kinesis: KinesisClient, streamName: string, clock: Clock, signal?: AbortSignal, onCall?: (outcome: AwsCallOutcome) => void): Promise<ShardInfo[]> {
  const shards: ShardInfo[] = [];
  let nextToken: string | undefined;
  do {
    const input = nextToken ? { NextToken: nextToken } : { StreamName: streamName };
    const page = () =>
      callAws({ service: 'kinesis', operation: 'ListShards', what: `ListShards ${streamName}`, deadlineMillis: AWS_DEADLINES.kinesisControl, signal, onOutcome: onCall }, (abortSignal) =>
        kinesis.send(...sendArgs(kinesis, new ListShardsCommand(input), abortSignal)),
      );
    try {
      const out = await retry(page, { policy: RETRY.shardList, clock, signal });
      shards.push(...(out.Shards ?? []).map(toShardInfo));
      nextToken = out.NextToken;
    } catch (err) {
      if (awsErrorKind(err) === 'not-found') {
        throw new InvalidStateException(`stream "${streamName}" not found (check streamName, the region and the Kinesis endpoint)`, { cause: err });
      }
      throw err;
    }
  } while (nextToken);
  return shards;
}

function newLease(shard: ShardInfo, checkpoint: ExtendedSequenceNumber, knownParents: ReadonlySet<string>): Lease {
  return {
    leaseKey: shard.shardId,
    leaseCounter: 0,
    checkpoint,
    ownerSwitchesSinceCheckpoint: 0,
    // Only parents that still exist in the stream are recorded, as the Java KCL does.
    parentShardIds: shard.parentShardIds.filter((p) => knownParents.has(p)),
    childShardIds: [],
    hashKeyRange: shard.hashKeyRange,
  };
}

/**
 * Which leases to create (pure). Rules, in order of the shards' starting sequence numbers so parents come first:
 * - Empty table: LATEST → a lease for every open shard; TRIM_HORIZON / AT_TIMESTAMP → a lease for every root
 *   (no parent in the stream) at that position, and for every descendant at TRIM_HORIZON.
 * - A shard whose parents (present in the stream) all have leases gets one at TRIM_HORIZON, so a child never
 *   skips records its parents did not have; its consumer waits for the parents to finish.
 * - An open shard with no lease and no leased parent gets one: at the initial position if it is a root, at
 *   TRIM_HORIZON otherwise (never LATEST below a parent: that would skip records).
 * - A closed shard with no lease and no leased parent gets none: it finished and its lease was cleaned up.
 */
export function computeLeasesToCreate(shards: readonly ShardInfo[], existingLeaseKeys: ReadonlySet<string>, initialPosition: InitialPosition): Lease[] {
  const inStream = new Set(shards.map((s) => s.shardId));
  const sorted = [...shards].sort((a, b) => {
    const x = BigInt(a.startingSequenceNumber);
    const y = BigInt(b.startingSequenceNumber);
    return x < y ? -1 : x > y ? 1 : a.shardId.localeCompare(b.shardId);
  });
  const leased = new Set(existingLeaseKeys);
  const created: Lease[] = [];
  const emptyTable = existingLeaseKeys.size === 0;
  const initial = sentinel(initialPosition);
  for (const shard of sorted) {
    if (leased.has(shard.shardId)) continue;
    const parents = shard.parentShardIds.filter((p) => inStream.has(p));
    const open = shard.endingSequenceNumber === undefined;
    let checkpoint: ExtendedSequenceNumber | undefined;
    if (emptyTable && initialPosition === 'LATEST') {
      if (open) checkpoint = initial;
    } else if (parents.length === 0) {
      if (emptyTable || open) checkpoint = initial;
    } else if (parents.every((p) => leased.has(p))) {
      checkpoint = TRIM_HORIZON;
    } else if (open) {
      checkpoint = TRIM_HORIZON;
    }
    if (checkpoint) {
      created.push(newLease(shard, checkpoint, inStream));
      leased.add(shard.shardId);
    }
  }
  return created;
}

export interface ShardSyncResult {
  shardCount: number;
  leasesCreated: number;
  /** The table as scanned before the new leases were created (reused by lease cleanup: one scan, not two). */
  leasesBefore: Lease[];
  /** Shards the listing shows closed (they have an ending sequence number). */
  closedShardIds: string[];
}

/** One shard sync: list shards, create the missing leases (conditional creates; "already exists" is fine). */
export async function syncShards(
  kinesis: KinesisClient,
  table: Pick<LeaseStore, 'listLeases' | 'createLeaseIfNotExists'>,
  streamName: string,
  initialPosition: InitialPosition,
  clock: Clock,
  signal?: AbortSignal,
  /** A recent scan of the lease table to use instead of a new one (creates are conditional, so a slightly old list is safe). */
  recentLeases?: readonly Lease[],
  onCall?: (outcome: AwsCallOutcome) => void,
): Promise<ShardSyncResult> {
  const shards = await listShards(kinesis, streamName, clock, signal, onCall);
  const leases = recentLeases ? [...recentLeases] : await table.listLeases();
  const toCreate = computeLeasesToCreate(shards, new Set(leases.map((l) => l.leaseKey)), initialPosition);
  let created = 0;
  for (const lease of toCreate) {
    if (await table.createLeaseIfNotExists(lease)) created++;
  }
  const closedShardIds = shards.filter((s) => s.endingSequenceNumber !== undefined).map((s) => s.shardId);
  return { shardCount: shards.length, leasesCreated: created, leasesBefore: leases, closedShardIds };
}

/**
 * Creates the leases of a closed shard's children (from the ChildShards of its last GetRecords), starting at
 * TRIM_HORIZON so nothing written to a child is skipped. A merge child lists both parents.
 */
export async function createChildLeases(table: Pick<LeaseStore, 'createLeaseIfNotExists'>, childShards: readonly ChildShard[]): Promise<number> {
  let created = 0;
  for (const child of childShards) {
    const lease: Lease = {
      leaseKey: child.shardId,
      leaseCounter: 0,
      checkpoint: TRIM_HORIZON,
      ownerSwitchesSinceCheckpoint: 0,
      parentShardIds: [...child.parentShards],
      childShardIds: [],
      hashKeyRange: child.hashKeyRange,
    };
    if (await table.createLeaseIfNotExists(lease)) created++;
  }
  return created;
}
