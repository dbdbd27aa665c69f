/**
 * A shard's range of 128-bit hash keys, as decimal strings: carried by leases, child shards and retrieval (to
 * drop KPL user records that hash outside the shard after resharding).
 */
import type { HashKeyRange as SdkHashKeyRange } from '@aws-sdk/client-kinesis';

export interface HashKeyRange {
  readonly startingHashKey: string;
  readonly endingHashKey: string;
}

/** The SDK's shape → ours; undefined unless both ends are present. */
export function hashKeyRangeOf(range: SdkHashKeyRange | undefined): HashKeyRange | undefined {
  if (range?.StartingHashKey === undefined || range.EndingHashKey === undefined) return undefined;
  return { startingHashKey: range.StartingHashKey, endingHashKey: range.EndingHashKey };
}
