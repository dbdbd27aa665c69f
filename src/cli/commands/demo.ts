/**
 * `kcl demo` (what `npm start` runs): the local emulators, a stream, a producer writing continuously and a
 * worker consuming with the sample processor, all in one process, with progress every few seconds. Ctrl-C
 * shuts everything down gracefully: processors checkpoint, leases are released, emulators stop.
 */
import { Command, Option } from 'commander';
import { createDynamoDBClient, createKinesisClient } from '../../aws/clients.js';
import { createLogger } from '../../common/logger.js';
import { formatSequenceNumber } from '../../checkpoint/sequence.js';
import { startLocalStack } from '../../local/stack.js';
import { produceRecords } from '../../local/producer.js';
import { Worker } from '../../worker/worker.js';
import { CountingProcessor } from '../../../samples/counting-processor.js';
import { positiveInt } from '../common.js';

interface DemoOptions {
  stream: string;
  shards: number;
  rate: number;
  application: string;
  progressInterval: number;
  kinesisPort?: number;
  dynamodbPort?: number;
}

function time(): string {
  return new Date().toISOString().slice(11, 19);
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('Start the local emulators, produce records to a stream and consume them with the sample processor (Ctrl-C to stop)')
    .option('--stream <name>', 'stream to create and consume', 'words')
    .option('--shards <n>', 'shards of the stream', positiveInt('--shards'), 4)
    .option('--rate <perSecond>', 'records produced per second', positiveInt('--rate'), 100)
    .option('--application <name>', 'application (lease table) name', 'kcl-demo')
    .option('--progress-interval <ms>', 'how often to print progress', positiveInt('--progress-interval'), 3000)
    .addOption(new Option('--kinesis-port <n>', 'kinesis-local port (default: a free one)').argParser(positiveInt('--kinesis-port')))
    .addOption(new Option('--dynamodb-port <n>', 'dynalite port (default: a free one)').argParser(positiveInt('--dynamodb-port')))
    .action(async (opts: DemoOptions) => {
      await runDemo(opts);
    });
}

async function runDemo(opts: DemoOptions): Promise<void> {
  const started = Date.now();
  const logger = createLogger({ pretty: true });
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const stopSignal = new AbortController();
  const onSignal = (sig: string) => {
    if (stopSignal.signal.aborted) return;
    out(`[${time()}] ${sig}: shutting down gracefully (processors checkpoint, leases are released)...`);
    stopSignal.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  out(`[${time()}] starting kinesis-local and dynalite on 127.0.0.1...`);
  const stack = await startLocalStack({ kinesisPort: opts.kinesisPort, dynamodbPort: opts.dynamodbPort, streams: [{ name: opts.stream, shards: opts.shards }], logger });
  out(`[${time()}] kinesis ${stack.kinesisEndpoint}  dynamodb ${stack.dynamodbEndpoint}  stream "${opts.stream}" with ${opts.shards} shards (${stack.startupMillis.total} ms)`);

  // The demo owns the clients (the worker only borrows them), so it can read the lease table after shutdown.
  const kinesis = createKinesisClient({ kinesisEndpoint: stack.kinesisEndpoint });
  const dynamodb = createDynamoDBClient({ dynamoDBEndpoint: stack.dynamodbEndpoint });
  let produced = 0;
  const producer = produceRecords(kinesis, {
    stream: opts.stream,
    count: Infinity,
    ratePerSecond: opts.rate,
    signal: stopSignal.signal,
    onProgress: (n) => (produced = n),
  }).catch((err: unknown) => logger.error({ err }, 'producer failed'));

  const processors = new Map<string, CountingProcessor>();
  const worker = new Worker({
    config: {
      streamName: opts.stream,
      applicationName: opts.application,
      kinesisEndpoint: stack.kinesisEndpoint,
      dynamoDBEndpoint: stack.dynamodbEndpoint,
      initialPositionInStream: 'TRIM_HORIZON',
      idleTimeBetweenReadsInMillis: 500,
    },
    processorFactory: (shardId) => {
      const p = new CountingProcessor({ checkpointIntervalMillis: 2_000 });
      processors.set(shardId, p);
      return p;
    },
    kinesis,
    dynamodb,
    logger,
  });
  let firstRecordAt: number | undefined;
  worker.events.on('records.delivered', ({ count }) => {
    if (count > 0 && firstRecordAt === undefined) {
      firstRecordAt = Date.now();
      out(`[${time()}] first records consumed ${((firstRecordAt - started) / 1000).toFixed(1)} s after start`);
    }
  });
  worker.events.on('lease.acquired', ({ leaseKey }) => out(`[${time()}] lease acquired: ${leaseKey}`));

  let lastConsumed = 0;
  let lastAt = Date.now();
  const printProgress = () => {
    const rows = worker.progress();
    const consumed = [...processors.values()].reduce((n, p) => n + p.records, 0);
    const now = Date.now();
    const rate = ((consumed - lastConsumed) * 1000) / Math.max(1, now - lastAt);
    lastConsumed = consumed;
    lastAt = now;
    out(`[${time()}] produced ${produced}  consumed ${consumed}  (${rate.toFixed(1)} records/s)`);
    for (const row of rows) {
      out(
        `  ${row.shardId}  ${row.state.padEnd(11)}  records ${String(row.recordsDelivered).padStart(7)}  ` +
          `lag ${String(row.millisBehindLatest).padStart(6)} ms  checkpoint ${formatSequenceNumber(row.checkpoint)}`,
      );
    }
  };

  let allReleased = false;
  try {
    await worker.start();
    const timer = setInterval(printProgress, opts.progressInterval);
    await new Promise<void>((resolve) => stopSignal.signal.addEventListener('abort', () => resolve(), { once: true }));
    clearInterval(timer);
  } finally {
    stopSignal.abort();
    await producer;
    await worker.shutdown();
    const consumed = [...processors.values()].reduce((n, p) => n + p.records, 0);
    out(`[${time()}] produced ${produced}  consumed ${consumed}; final checkpoints in lease table "${opts.application}":`);
    const leases = (await worker.leaseTable.listLeases()).sort((a, b) => a.leaseKey.localeCompare(b.leaseKey));
    for (const lease of leases) {
      out(`  ${lease.leaseKey}  owner ${lease.leaseOwner ?? '(released)'}  checkpoint ${formatSequenceNumber(lease.checkpoint)}`);
    }
    allReleased = leases.every((l) => l.leaseOwner === undefined);
    kinesis.destroy();
    dynamodb.destroy();
    await stack.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  out(
    allReleased
      ? `[${time()}] stopped cleanly: every lease checkpointed and released, emulators stopped`
      : `[${time()}] stopped; some leases were not released (see the log above), emulators stopped`,
  );
}
