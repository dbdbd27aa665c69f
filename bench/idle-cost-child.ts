/**
 * The measured process of bench/idle-cost.ts: one consumer of an idle stream, alone in its process so that its
 * CPU time is its own. Started with fork() and driven over the IPC channel:
 *
 * - `worker`: a kcl-ts Worker (polling or fan-out) with a processor that does nothing;
 * - `bare`: the same Kinesis and DynamoDB calls made by a plain SDK v3 loop (GetRecords per shard every idle
 *   interval, one conditional UpdateItem per lease every renewal period), to tell the SDK's per-call cost from
 *   ours.
 *
 * It answers `snapshot` with its CPU time, memory and the calls made so far (from the worker's `aws.call`
 * events, or counted by the bare loop), `profile-start` / `profile-stop` with a CPU profile of just that span
 * (node:inspector), and `stop` by shutting down and exiting.
 */
import http from 'node:http';
import inspector from 'node:inspector/promises';
import { writeFile } from 'node:fs/promises';
import { KinesisClient, GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { DynamoDBClient, CreateTableCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createLogger, silentLogger } from '../src/common/logger.js';
import { Worker } from '../src/worker/worker.js';
import { workerInternals } from '../src/worker/internals.js';
import { idleProcessor } from './idle-processor.js';

export interface IdleChildOptions {
  readonly mode: 'worker' | 'bare';
  readonly retrieval: 'polling' | 'fanout';
  readonly streamName: string;
  readonly applicationName: string;
  readonly kinesisEndpoint: string;
  readonly dynamoDBEndpoint: string;
  readonly idleTimeBetweenReadsMillis: number;
  readonly failoverTimeMillis: number;
  /** The opt-in back-off of idle reads (worker only). */
  readonly maxIdleTimeBetweenReadsMillis?: number;
}

export type IdleChildRequest = { type: 'snapshot'; gc?: boolean } | { type: 'profile-start' } | { type: 'profile-stop'; file: string } | { type: 'stop' };

export interface IdleSnapshot {
  readonly type: 'snapshot';
  /** performance.now() of the child when taken. */
  readonly at: number;
  /** process.cpuUsage(), microseconds. */
  readonly cpuMicros: number;
  readonly rss: number;
  readonly heapUsed: number;
  /** Leases held (worker) or shards polled (bare). */
  readonly held: number;
  /** Shards being read: consumers past their first read (worker) or loops started (bare). */
  readonly reading: number;
  /** Calls ended so far, by "service Operation[ purpose]". */
  readonly calls: Record<string, number>;
  /** Batches handed to the consumers so far: one per GetRecords, or per fan-out event. */
  readonly batches: number;
}

export type IdleChildMessage = IdleSnapshot | { type: 'ready' } | { type: 'done' } | { type: 'error'; message: string };

const options = JSON.parse(process.argv[2] ?? '{}') as IdleChildOptions;
const send = (message: IdleChildMessage) => process.send?.(message);
const calls: Record<string, number> = {};
const count = (key: string) => {
  calls[key] = (calls[key] ?? 0) + 1;
};
const reading = new Set<string>();
let batches = 0;
const stop = new AbortController();


async function runWorker(): Promise<() => Promise<number>> {
  const worker = new Worker({
    config: {
      streamName: options.streamName,
      applicationName: options.applicationName,
      workerId: 'idle-bench',
      initialPositionInStream: 'LATEST',
      retrievalMode: options.retrieval === 'fanout' ? 'FANOUT' : 'POLLING',
      idleTimeBetweenReadsInMillis: options.idleTimeBetweenReadsMillis,
      maxIdleTimeBetweenReadsInMillis: options.maxIdleTimeBetweenReadsMillis,
      failoverTimeMillis: options.failoverTimeMillis,
      kinesisEndpoint: options.kinesisEndpoint,
      dynamoDBEndpoint: options.dynamoDBEndpoint,
    },
    processorFactory: idleProcessor,
    logger: process.env.KCL_LOG_LEVEL ? createLogger() : silentLogger,
    shutdownTimeoutMillis: 10_000,
  });
  worker.events.on('aws.call', ({ service, operation, purpose }) => count(purpose === undefined ? `${service} ${operation}` : `${service} ${operation} ${purpose}`));
  worker.events.on('records.delivered', ({ shardId }) => {
    batches++;
    reading.add(shardId);
  });
  worker.events.on('lease.lost', ({ leaseKey }) => reading.delete(leaseKey));
  await worker.start();
  const held = () => workerInternals(worker).leases.heldLeases().length;
  heldCount = held;
  return async () => {
    await worker.shutdown();
    return 0;
  };
}

let heldCount: () => number = () => 0;

/** What a plain SDK program reading the same shards would do: no lease logic, no events, no deadlines. */
async function runBare(): Promise<() => Promise<number>> {
  const region = 'us-east-1';
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const kinesis = new KinesisClient({ region, endpoint: options.kinesisEndpoint, credentials, requestHandler: new NodeHttpHandler({ httpAgent: new http.Agent({ keepAlive: true, maxSockets: 256 }) }), maxAttempts: 1 });
  const dynamodb = new DynamoDBClient({ region, endpoint: options.dynamoDBEndpoint, credentials, requestHandler: new NodeHttpHandler({ httpAgent: new http.Agent({ keepAlive: true, maxSockets: 256 }) }), maxAttempts: 1 });
  const table = options.applicationName;
  await dynamodb.send(
    new CreateTableCommand({ TableName: table, AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }),
  );
  const shards: string[] = [];
  let token: string | undefined;
  do {
    const out = await kinesis.send(new ListShardsCommand(token ? { NextToken: token } : { StreamName: options.streamName }));
    for (const s of out.Shards ?? []) shards.push(s.ShardId!);
    token = out.NextToken;
  } while (token);
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));
  const renewMillis = Math.floor(options.failoverTimeMillis / 3) - 25;
  // A plain loop still has to live with a connection the server closed as it was reused (ECONNRESET).
  const attempt = async <T>(key: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch {
      return undefined;
    } finally {
      count(key);
    }
  };
  const loops = shards.map(async (shardId) => {
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { leaseKey: { S: shardId }, leaseCounter: { N: '0' } } }));
    let counter = 0;
    const renewals = (async () => {
      while (!stop.signal.aborted) {
        await sleep(renewMillis);
        if (stop.signal.aborted) break;
        const input = {
          TableName: table,
          Key: { leaseKey: { S: shardId } },
          ConditionExpression: '#c = :c',
          UpdateExpression: 'SET #c = :n',
          ExpressionAttributeNames: { '#c': 'leaseCounter' },
          ExpressionAttributeValues: { ':c': { N: String(counter) }, ':n': { N: String(counter + 1) } },
        };
        if (await attempt('dynamodb UpdateItem renew', () => dynamodb.send(new UpdateItemCommand(input)))) counter++;
      }
    })();
    const getIterator = async () =>
      (await attempt('kinesis GetShardIterator', () => kinesis.send(new GetShardIteratorCommand({ StreamName: options.streamName, ShardId: shardId, ShardIteratorType: 'LATEST' }))))?.ShardIterator;
    let iterator: string | undefined;
    while (!stop.signal.aborted) {
      const started = performance.now();
      iterator ??= await getIterator();
      const out = iterator === undefined ? undefined : await attempt('kinesis GetRecords', () => kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 })));
      if (out) {
        batches++;
        reading.add(shardId);
      }
      iterator = out?.NextShardIterator;
      await sleep(options.idleTimeBetweenReadsMillis - (performance.now() - started));
    }
    await renewals;
  });
  heldCount = () => shards.length;
  return async () => {
    stop.abort();
    await Promise.all(loops);
    kinesis.destroy();
    dynamodb.destroy();
    return 0;
  };
}

let profiler: inspector.Session | undefined;

async function handle(message: IdleChildRequest, shutdown: () => Promise<number>): Promise<void> {
  switch (message.type) {
    case 'snapshot': {
      // CPU first, then (optionally) a full GC for a memory figure that is the live set, not garbage.
      const cpu = process.cpuUsage();
      const at = performance.now();
      if (message.gc) (globalThis as { gc?: () => void }).gc?.();
      const mem = process.memoryUsage();
      send({ type: 'snapshot', at, cpuMicros: cpu.user + cpu.system, rss: mem.rss, heapUsed: mem.heapUsed, held: heldCount(), reading: reading.size, calls: { ...calls }, batches });
      return;
    }
    case 'profile-start':
      profiler = new inspector.Session();
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.setSamplingInterval', { interval: 500 });
      await profiler.post('Profiler.start');
      send({ type: 'done' });
      return;
    case 'profile-stop': {
      const { profile } = await profiler!.post('Profiler.stop');
      await writeFile(message.file, JSON.stringify(profile));
      profiler!.disconnect();
      profiler = undefined;
      send({ type: 'done' });
      return;
    }
    case 'stop':
      await shutdown();
      send({ type: 'done' });
      process.disconnect?.();
      setTimeout(() => process.exit(0), 100).unref();
      return;
  }
}

try {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const shutdown = options.mode === 'bare' ? await runBare() : await runWorker();
  process.on('message', (message: IdleChildRequest) => {
    handle(message, shutdown).catch((err: unknown) => send({ type: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) }));
  });
  send({ type: 'ready' });
} catch (err) {
  send({ type: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) });
  process.exitCode = 1;
}
