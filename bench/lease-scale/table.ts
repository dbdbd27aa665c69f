/**
 * The lease table of the scale bench: filled quickly with BatchWriteItem, every item made by the project's own
 * serializer (leases/serializer.ts), so it is byte for byte what workers write; and the item size and read cost
 * DynamoDB would charge for it.
 */
import { BatchWriteItemCommand, DeleteTableCommand, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { extendedSequenceNumber } from '../../src/checkpoint/sequence.js';
import type { Lease } from '../../src/leases/lease.js';
import { leaseToItem, type Item } from '../../src/leases/serializer.js';

/** The Kinesis shard-id format: `shardId-` and twelve digits. */
export const shardId = (i: number): string => `shardId-${String(i).padStart(12, '0')}`;

const HASH_SPACE = 2n ** 128n;

/**
 * Lease i of n as a long-running application's table holds it: a 56-digit checkpoint, the shard's slice of the
 * hash-key space (Java 3.x and our shard sync write it), no parents; owner and counter as given.
 */
export function benchLease(i: number, n: number, owner?: string, counter = 0): Lease {
  const start = (HASH_SPACE * BigInt(i)) / BigInt(n);
  const end = (HASH_SPACE * BigInt(i + 1)) / BigInt(n) - 1n;
  return {
    leaseKey: shardId(i),
    leaseOwner: owner,
    leaseCounter: counter,
    checkpoint: extendedSequenceNumber(`4963${String(i).padStart(12, '0')}${'7'.repeat(40)}`, 0),
    ownerSwitchesSinceCheckpoint: 0,
    parentShardIds: [],
    childShardIds: [],
    hashKeyRange: { startingHashKey: start.toString(), endingHashKey: end.toString() },
  };
}

/** Writes the items 25 per BatchWriteItem, `parallel` batches in flight, retrying what DynamoDB left unprocessed. */
export async function batchWrite(dynamodb: DynamoDBClient, table: string, items: readonly Item[], parallel = 8): Promise<void> {
  const batches: WriteRequest[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })));
  let next = 0;
  const lane = async () => {
    while (next < batches.length) {
      let requests: WriteRequest[] | undefined = batches[next++];
      for (let attempt = 0; requests && requests.length > 0; attempt++) {
        if (attempt > 20) throw new Error('BatchWriteItem keeps leaving items unprocessed');
        if (attempt > 0) await new Promise((r) => setTimeout(r, 20 * attempt));
        const out: { UnprocessedItems?: Record<string, WriteRequest[]> } = await dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [table]: requests } }));
        requests = out.UnprocessedItems?.[table];
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
}

export async function fillLeases(dynamodb: DynamoDBClient, table: string, leases: readonly Lease[]): Promise<void> {
  await batchWrite(dynamodb, table, leases.map(leaseToItem));
}

export async function dropTable(dynamodb: DynamoDBClient, table: string): Promise<void> {
  await dynamodb.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
}

/** An attribute value's size as DynamoDB bills it (strings: UTF-8 bytes; numbers: ~1 byte per 2 digits + 1). */
function valueBytes(v: Item[string]): number {
  if (v.S !== undefined) return Buffer.byteLength(v.S);
  if (v.N !== undefined) return Math.ceil(v.N.replace(/^-/, '').replace(/^0+(?=\d)/, '').length / 2) + 1;
  if (v.SS !== undefined) return v.SS.reduce((a, s) => a + Buffer.byteLength(s), 0);
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  return 0;
}

/** An item's size as DynamoDB counts it: attribute names plus values. */
export function itemBytes(item: Item): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) bytes += Buffer.byteLength(name) + valueBytes(value);
  return bytes;
}

/** Scan pages AWS would return (1 MB of items read per page) and the read units they cost. */
export function scanCost(sizes: readonly number[]): { pages: number; bytes: number; eventualRcu: number; strongRcu: number } {
  const MB = 1024 * 1024;
  let pages = 0;
  let pageBytes = 0;
  let units = 0;
  const close = () => {
    if (pageBytes === 0) return;
    pages++;
    units += Math.ceil(pageBytes / 4096);
    pageBytes = 0;
  };
  for (const s of sizes) {
    if (pageBytes + s > MB) close();
    pageBytes += s;
  }
  close();
  return { pages: Math.max(1, pages), bytes: sizes.reduce((a, b) => a + b, 0), eventualRcu: units / 2, strongRcu: units };
}
