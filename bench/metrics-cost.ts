/**
 * What CloudWatch metrics cost the consumer, in one run against the local emulators. Prints figures; asserts
 * nothing.
 *
 *   off       — a Worker with metricsLevel NONE;
 *   DETAILED  — the same with CloudWatch metrics at DETAILED, sent every second to a local HTTP endpoint that
 *               answers PutMetricData at once (so the SDK's serialisation, gzip and request are all counted,
 *               and CloudWatch's own time is not).
 * Each mode consumes the same stream from the start under its own application name; the modes alternate
 * (off, on, off, on, ...) after a warm-up, and the median of the rounds is reported. CPU is this process's
 * (user + system), per record delivered; the emulators run in their own processes.
 * Also: the event handler alone, in ns per `records.delivered` event, on a publisher whose sink does nothing.
 *
 *   npm run bench:metrics -- [--records N] [--shards N] [--rounds N]
 */
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { createDynamoDBClient, createKinesisClient } from '../src/aws/clients.js';
import { systemClock } from '../src/common/clock.js';
import { KclEvents } from '../src/common/events.js';
import { silentLogger } from '../src/common/logger.js';
import type { MetricsLevel } from '../src/config/fields.js';
import { startLocalStack } from '../src/local/stack.js';
import { produceRecords } from '../src/local/producer.js';
import { CloudWatchPublisher } from '../src/metrics/cloudwatch.js';
import { consumeCounted } from './counting-logic.js';

const { values } = parseArgs({
  options: { records: { type: 'string', default: '20000' }, shards: { type: 'string', default: '4' }, rounds: { type: 'string', default: '3' } },
});
const RECORDS = Number(values.records);
const SHARDS = Number(values.shards);
const ROUNDS = Number(values.rounds);

/** Answers every request with 200 `{}` (AWS JSON 1.0) after reading it; counts requests and bytes. */
async function startSink(): Promise<{ endpoint: string; requests: number; bytes: number; close(): Promise<void> }> {
  const state = { requests: 0, bytes: 0 };
  const server = http.createServer((req, res) => {
    req.on('data', (c: Buffer) => (state.bytes += c.length));
    req.on('end', () => {
      state.requests++;
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return state.requests;
    },
    get bytes() {
      return state.bytes;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** ns per records.delivered event through the publisher's listener (mapping, filter, aggregation). */
function handlerCost(level: MetricsLevel): number {
  const events = new KclEvents();
  const publisher = new CloudWatchPublisher({
    namespace: 'bench',
    workerId: 'w',
    level,
    dimensions: ['Operation', 'ShardId', 'WorkerIdentifier', 'StreamId'],
    bufferTimeMillis: 3_600_000,
    maxQueueSize: 10_000,
    sink: async () => undefined,
    clock: systemClock,
    logger: silentLogger,
  });
  publisher.attach(events.readOnly());
  const n = 1_000_000;
  const run = () => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) events.emit('records.delivered', { shardId: `shardId-00000000000${i & 3}`, count: 100, bytes: 10_000, millisBehindLatest: i & 1023, processMillis: 1 });
    return Number(process.hrtime.bigint() - started) / n;
  };
  run(); // warm-up
  const ns = run();
  void publisher.stop();
  return ns;
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
  const stack = await startLocalStack({ streams: [{ name: 'metrics-bench', shards: SHARDS }] });
  const kinesis = createKinesisClient({ kinesisEndpoint: stack.kinesisEndpoint });
  const dynamodb = createDynamoDBClient({ dynamoDBEndpoint: stack.dynamodbEndpoint });
  const sink = await startSink();
  try {
    await produceRecords(kinesis, { stream: 'metrics-bench', count: RECORDS, partitionKeys: 64 });
    console.log(`produced ${RECORDS} records on ${SHARDS} shards`);

    let app = 0;
    const consume = async (on: boolean) => {
      const run = await consumeCounted(
        {
          streamName: 'metrics-bench',
          applicationName: `metrics-bench-${app++}`,
          kinesisEndpoint: stack.kinesisEndpoint,
          dynamoDBEndpoint: stack.dynamodbEndpoint,
          initialPositionInStream: 'TRIM_HORIZON',
          idleTimeBetweenReadsInMillis: 200,
          ...(on ? { metricsLevel: 'DETAILED' as const, cloudWatchEndpoint: sink.endpoint, metricsBufferTimeMillis: 1_000 } : { metricsLevel: 'NONE' as const }),
        },
        RECORDS,
        { kinesis, dynamodb },
      );
      const stats = run.worker.cloudWatchMetricsStats();
      await run.worker.shutdown();
      return { cpuPerRecord: run.cpuMicros / run.delivered, recordsPerSecond: (run.delivered * 1000) / run.millis, stats };
    };

    await consume(false); // warm-up: connections, JIT, emulator caches
    const off: Awaited<ReturnType<typeof consume>>[] = [];
    const on: Awaited<ReturnType<typeof consume>>[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      off.push(await consume(false));
      on.push(await consume(true));
    }
    const row = (name: string, runs: typeof off) =>
      `${name.padEnd(9)} ${median(runs.map((r) => r.recordsPerSecond)).toFixed(0).padStart(10)}   ${median(runs.map((r) => r.cpuPerRecord)).toFixed(2).padStart(13)}   ${runs.map((r) => r.cpuPerRecord.toFixed(2)).join(' / ')}`;
    console.log('');
    console.log('metrics   records/s   CPU µs/record   (each round)');
    console.log(row('off', off));
    console.log(row('DETAILED', on));
    const delta = median(on.map((r) => r.cpuPerRecord)) - median(off.map((r) => r.cpuPerRecord));
    console.log(`difference: ${delta >= 0 ? '+' : ''}${delta.toFixed(2)} µs per record (medians of ${ROUNDS} rounds)`);
    console.log(`PutMetricData: ${sink.requests} requests, ${(sink.bytes / 1024).toFixed(0)} KiB on the wire; dropped: ${on.map((r) => r.stats?.droppedDataPoints).join(' / ')}`);
    console.log('');
    console.log(`event handler alone: ${handlerCost('DETAILED').toFixed(0)} ns per records.delivered at DETAILED, ${handlerCost('SUMMARY').toFixed(0)} ns at SUMMARY`);
  } finally {
    kinesis.destroy();
    dynamodb.destroy();
    await sink.close();
    await stack.stop();
  }
}

await main();
