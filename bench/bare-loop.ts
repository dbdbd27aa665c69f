/**
 * The baseline consumer the benchmarks compare against: a bare SDK v3 loop per shard (GetShardIterator from
 * TRIM_HORIZON, then GetRecords until an empty page at the tip), parsing every record as JSON (decoded without a
 * copy, as the side-by-side suite's bare loop does). No leases, no checkpoints. Resolves with the number of records read.
 */
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';

/** `onPage` sees the number of records of every page read. */
export async function drainWithBareLoop(kinesis: KinesisClient, stream: string, onPage: (records: number) => void = () => undefined): Promise<number> {
  const shards = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
  const counts = await Promise.all(
    shards.map(async (shard) => {
      let iterator = (await kinesis.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
      let n = 0;
      const decoder = new TextDecoder();
      for (;;) {
        const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
        const got = out.Records?.length ?? 0;
        for (const r of out.Records ?? []) JSON.parse(decoder.decode(r.Data));
        n += got;
        onPage(got);
        if (got === 0 && (out.MillisBehindLatest ?? 0) === 0) return n;
        iterator = out.NextShardIterator;
      }
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}
