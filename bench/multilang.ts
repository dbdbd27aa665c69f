/**
 * Records/s through the MultiLangDaemon (one child process per shard, every batch and checkpoint a protocol
 * round trip) versus the same processor logic in-process, on the same stream and machine, in one run.
 * Prints figures; asserts nothing.
 *
 *   npm run bench:multilang -- [--records N] [--shards N]
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createDynamoDBClient, createKinesisClient } from '../src/aws/clients.js';
import { silentLogger } from '../src/common/logger.js';
import type { KclConfigInput } from '../src/config/config.js';
import { buildDaemonSetup } from '../src/multilang/daemon-config.js';
import { startLocalStack } from '../src/local/stack.js';
import { produceRecords } from '../src/local/producer.js';
import { createMultiLangWorker } from '../src/multilang/daemon.js';
import { Worker } from '../src/worker/worker.js';
import { countingProcessor } from './counting-logic.js';

const { values } = parseArgs({ options: { records: { type: 'string', default: '8000' }, shards: { type: 'string', default: '4' } } });
const RECORDS = Number(values.records);
const SHARDS = Number(values.shards);
const childScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'multilang-child.js');

function cpuMillis(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Runs a worker until every record's checkpoint is in the lease table; returns wall and CPU time. */
async function timeRun(worker: Worker): Promise<{ millis: number; cpu: number }> {
  const started = performance.now();
  const cpu0 = cpuMillis();
  let checkpointed = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  worker.events.on('records.delivered', ({ count }) => {
    checkpointed += count;
    if (checkpointed >= RECORDS) done();
  });
  await worker.start();
  await all;
  const result = { millis: performance.now() - started, cpu: cpuMillis() - cpu0 };
  await worker.shutdown();
  return result;
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
  const stack = await startLocalStack({ streams: [{ name: 'mlbench', shards: SHARDS }] });
  const kinesis = createKinesisClient({ kinesisEndpoint: stack.kinesisEndpoint });
  const dynamodb = createDynamoDBClient({ dynamoDBEndpoint: stack.dynamodbEndpoint });
  try {
    await produceRecords(kinesis, { stream: 'mlbench', count: RECORDS, partitionKeys: 64 });
    const base = (app: string): KclConfigInput => ({
      streamName: 'mlbench',
      applicationName: app,
      kinesisEndpoint: stack.kinesisEndpoint,
      dynamoDBEndpoint: stack.dynamodbEndpoint,
      initialPositionInStream: 'TRIM_HORIZON',
      idleTimeBetweenReadsInMillis: 200,
      maxRecords: 500,
    });
    // Warm-up pass so neither run pays for cold emulator caches or JIT alone.
    await timeRun(new Worker({ config: base('warmup'), processorFactory: () => countingProcessor(), kinesis, dynamodb, logger: silentLogger }));
    const inProcess = await timeRun(new Worker({ config: base('inprocess'), processorFactory: () => countingProcessor(), kinesis, dynamodb, logger: silentLogger }));
    const daemon = await timeRun(
      createMultiLangWorker({ ...buildDaemonSetup({ ...base('daemon'), executableName: `${process.execPath} ${childScript}` }), logger: silentLogger }),
    );
    const row = (name: string, r: { millis: number; cpu: number }) =>
      `${name.padEnd(22)} ${String(RECORDS).padStart(7)}   ${(r.millis / 1000).toFixed(2).padStart(7)}   ${((RECORDS * 1000) / r.millis).toFixed(0).padStart(9)}   ${((r.cpu * 1000) / RECORDS).toFixed(1).padStart(19)}`;
    console.log(`\n${RECORDS} records, ${SHARDS} shards, batches of ≤500, one checkpoint per batch (each run includes start-up)`);
    console.log('run                    records   seconds   records/s   daemon CPU µs/record');
    console.log(row('in-process', inProcess));
    console.log(row('daemon, child/shard', daemon));
    console.log(`daemon overhead: ${(((daemon.millis - inProcess.millis) / inProcess.millis) * 100).toFixed(0)} % wall time (children's own CPU not included)`);
  } finally {
    kinesis.destroy();
    dynamodb.destroy();
    await stack.stop();
  }
}

await main();
