/**
 * Consumer throughput and cost, in-process, against the local emulators. Prints figures; asserts nothing.
 *
 * Same stream, same machine, one run:
 *   baseline  — a bare SDK loop (GetShardIterator + GetRecords per shard, no leases, no checkpoints);
 *   kcl       — a Worker with a processor that checkpoints every batch.
 * Reported: records/s, CPU µs per record (this process only; the emulators run in their own), and DynamoDB
 * lease-table calls per shard-minute while idle (renewals and taker scans, the steady-state cost).
 *
 *   npm run bench -- [--records N] [--shards N] [--idle-seconds N]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { createDynamoDBClient, createKinesisClient } from '../src/aws/clients.js';
import { startLocalStack } from '../src/local/stack.js';
import { produceRecords } from '../src/local/producer.js';
import { consumeCounted, cpuMicros } from './counting-logic.js';
import { drainWithBareLoop } from './bare-loop.js';
import { countLeaseTableCalls, type LeaseTableCallCounts } from './lease-calls.js';

const { values } = parseArgs({
  options: { records: { type: 'string', default: '8000' }, shards: { type: 'string', default: '4' }, 'idle-seconds': { type: 'string', default: '20' } },
});
const RECORDS = Number(values.records);
const SHARDS = Number(values.shards);
const IDLE_SECONDS = Number(values['idle-seconds']);

async function baseline(kinesis: KinesisClient, stream: string): Promise<{ records: number; millis: number; cpu: number }> {
  const started = performance.now();
  const cpu0 = cpuMicros();
  const records = await drainWithBareLoop(kinesis, stream);
  return { records, millis: performance.now() - started, cpu: cpuMicros() - cpu0 };
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
  const stack = await startLocalStack({ streams: [{ name: 'bench', shards: SHARDS }] });
  const kinesis = createKinesisClient({ kinesisEndpoint: stack.kinesisEndpoint });
  const dynamodb = createDynamoDBClient({ dynamoDBEndpoint: stack.dynamodbEndpoint });
  try {
    const t0 = performance.now();
    await produceRecords(kinesis, { stream: 'bench', count: RECORDS, partitionKeys: 64 });
    console.log(`produced ${RECORDS} records on ${SHARDS} shards in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    await baseline(kinesis, 'bench'); // warm-up: connections, JIT, emulator caches
    const base = await baseline(kinesis, 'bench');

    let calls!: LeaseTableCallCounts;
    const { worker, delivered, millis: kclMillis, cpuMicros: kclCpu } = await consumeCounted(
      {
        streamName: 'bench',
        applicationName: 'bench-app',
        kinesisEndpoint: stack.kinesisEndpoint,
        dynamoDBEndpoint: stack.dynamodbEndpoint,
        initialPositionInStream: 'TRIM_HORIZON',
        idleTimeBetweenReadsInMillis: 200,
      },
      RECORDS,
      { kinesis, dynamodb },
      (w) => (calls = countLeaseTableCalls(w.events)),
    );

    const before = calls.scan + calls.get + calls.put + calls.update + calls.delete;
    const idleStart = performance.now();
    await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
    const after = calls.scan + calls.get + calls.put + calls.update + calls.delete;
    const shardMinutes = (SHARDS * (performance.now() - idleStart)) / 60_000;
    await worker.shutdown();

    const rate = (n: number, ms: number) => ((n * 1000) / ms).toFixed(0);
    console.log('');
    console.log('run        records   seconds   records/s   CPU µs/record');
    console.log(`baseline   ${String(base.records).padStart(7)}   ${(base.millis / 1000).toFixed(2).padStart(7)}   ${rate(base.records, base.millis).padStart(9)}   ${(base.cpu / base.records).toFixed(1).padStart(13)}`);
    console.log(`kcl        ${String(delivered).padStart(7)}   ${(kclMillis / 1000).toFixed(2).padStart(7)}   ${rate(delivered, kclMillis).padStart(9)}   ${(kclCpu / delivered).toFixed(1).padStart(13)}`);
    console.log('');
    console.log(`kcl includes start-up (lease table, shard sync, first take) and one checkpoint per batch.`);
    console.log(`idle lease-table calls: ${after - before} in ${IDLE_SECONDS} s on ${SHARDS} shards = ${((after - before) / shardMinutes).toFixed(1)} per shard-minute`);
  } finally {
    kinesis.destroy();
    dynamodb.destroy();
    await stack.stop();
  }
}

await main();
