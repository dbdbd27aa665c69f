/**
 * One consumer of the side-by-side benchmark, in a process of its own so that /proc charges it (and, for the
 * daemon, its children) exactly. Reads a whole stream from TRIM_HORIZON, then says so.
 *
 * Protocol with bench/suite/run.ts, one JSON line each on stdout:
 *   {"ready":true}                      just before the consumer starts reading (modules loaded, nothing read)
 *   {"first":true,"records":N}          when the first page of records has gone through (start-up is over)
 *   {"done":true,"records":N}           once N records went through the processor (and, for the KCL, its
 *                                       checkpoint of each batch); the process then stops cleanly and exits
 *
 *   node dist/bench/suite/consumer.js <kind> <json options>
 *   kinds: bare (a plain SDK v3 loop, JSON protocol), worker (the Worker in-process), daemon (the MultiLangDaemon)
 */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import http from 'node:http';
import { silentLogger } from '../../src/common/logger.js';
import type { KclConfigInput } from '../../src/config/config.js';
import { buildDaemonSetup } from '../../src/multilang/daemon-config.js';
import { createMultiLangWorker } from '../../src/multilang/daemon.js';
import { Worker } from '../../src/worker/worker.js';
import { drainWithBareLoop } from '../bare-loop.js';
import { countingProcessor } from '../counting-logic.js';

export interface ConsumerOptions {
  stream: string;
  records: number;
  kinesisEndpoint: string;
  dynamoDBEndpoint: string;
  /** worker and daemon: a fresh lease table per run. */
  applicationName?: string;
  /** worker and daemon: extra configuration keys (retrievalMode, kinesisProtocol, …). */
  config?: Partial<KclConfigInput>;
  /** daemon: the child command. */
  executableName?: string;
}

const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

let firstSaid = false;
/** Says `first` once, at the first non-empty page. */
function sawPage(records: number): void {
  if (records === 0 || firstSaid) return;
  firstSaid = true;
  say({ first: true, records });
}

/** What a user writes without a library: one GetRecords loop per shard, every record parsed (bench/bare-loop.ts). */
async function bare(options: ConsumerOptions): Promise<number> {
  const kinesis = new KinesisClient({
    endpoint: options.kinesisEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    // The SDK's default HTTP/2 handler does not work against the emulators.
    requestHandler: new NodeHttpHandler({ httpAgent: new http.Agent({ keepAlive: true }) }),
  });
  say({ ready: true });
  try {
    return await drainWithBareLoop(kinesis, options.stream, sawPage);
  } finally {
    kinesis.destroy();
  }
}

function kclConfig(options: ConsumerOptions): KclConfigInput {
  return {
    streamName: options.stream,
    applicationName: options.applicationName ?? `bench-${process.pid}`,
    kinesisEndpoint: options.kinesisEndpoint,
    dynamoDBEndpoint: options.dynamoDBEndpoint,
    initialPositionInStream: 'TRIM_HORIZON',
    ...options.config,
  };
}

/** Runs a Worker (in-process processor or daemon) until `records` records went through; then shuts it down. */
async function untilDelivered(worker: Worker, records: number): Promise<number> {
  let delivered = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  worker.events.on('records.delivered', ({ count }) => {
    sawPage(count);
    delivered += count;
    if (delivered >= records) done();
  });
  say({ ready: true });
  await worker.start();
  await all;
  return delivered;
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const [kind, json] = process.argv.slice(2);
  const options = JSON.parse(json ?? '{}') as ConsumerOptions;
  let worker: Worker | undefined;
  let records: number;
  if (kind === 'bare') records = await bare(options);
  else if (kind === 'worker') {
    worker = new Worker({ config: kclConfig(options), processorFactory: () => countingProcessor(), logger: silentLogger });
    records = await untilDelivered(worker, options.records);
  } else if (kind === 'daemon') {
    if (!options.executableName) throw new Error('daemon: executableName is required');
    worker = createMultiLangWorker({ ...buildDaemonSetup({ ...kclConfig(options), executableName: options.executableName }), logger: silentLogger });
    records = await untilDelivered(worker, options.records);
  } else throw new Error(`unknown consumer kind ${kind}: bare, worker or daemon`);
  say({ done: true, records });
  await worker?.shutdown();
}

await main();
