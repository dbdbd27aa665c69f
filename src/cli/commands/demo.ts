/**
 * `kcl demo` (what `npm start` runs): the local emulators, a stream, a producer writing continuously and a
 * worker consuming with the sample processor, all in one process, with progress every few seconds. Ctrl-C
 * shuts everything down gracefully: processors checkpoint, leases are released, emulators stop.
 */
import { Command, Option } from 'commander';
import { createDynamoDBClient, createKinesisClient } from '../../aws/clients.js';
import { systemClock } from '../../common/clock.js';
import { createLogger } from '../../common/logger.js';
import { LeaseTable } from '../../leases/lease-table.js';
import { formatSequenceNumber } from '../../checkpoint/sequence.js';
import { checkEmulatorsInstalled, startLocalStack } from '../../local/stack.js';
import { produceRecords } from '../../local/producer.js';
import { Worker } from '../../worker/worker.js';
import { CountingProcessor } from '../../local/counting-processor.js';
import { positiveInt } from '../common.js';
import { checkExecutable, createMultiLangWorker } from '../../multilang/daemon.js';
import { loadDaemonProperties } from '../../multilang/daemon-config.js';

interface DemoOptions {
  stream: string;
  properties?: string;
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
    .option('--stream <name>', 'stream to create and consume (with --properties: the file\'s streamName)', 'words')
    .option('--properties <file>', 'run the MultiLangDaemon with this properties file (its executableName per shard) instead of the in-process sample')
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

  checkEmulatorsInstalled();
  // With --properties the daemon's file decides the stream and application; the endpoints are the local ones.
  const fromFile = opts.properties ? await loadDaemonProperties(opts.properties, { onWarning: (m) => logger.warn(m) }) : undefined;
  if (fromFile) checkExecutable(fromFile.daemon.executableName);
  const streamName = fromFile?.config.streamName ?? opts.stream;
  out(`[${time()}] starting kinesis-local and dynalite on 127.0.0.1...`);
  const stack = await startLocalStack({ kinesisPort: opts.kinesisPort, dynamodbPort: opts.dynamodbPort, streams: [{ name: streamName, shards: opts.shards }], logger });
  out(`[${time()}] kinesis ${stack.kinesisEndpoint}  dynamodb ${stack.dynamodbEndpoint}  stream "${streamName}" with ${opts.shards} shards (${stack.startupMillis.total} ms)`);

  // The demo owns the clients (the worker only borrows them), so it can read the lease table after shutdown.
  const kinesis = createKinesisClient({ kinesisEndpoint: stack.kinesisEndpoint });
  const dynamodb = createDynamoDBClient({ dynamoDBEndpoint: stack.dynamodbEndpoint });
  let produced = 0;
  const producer = produceRecords(kinesis, {
    stream: streamName,
    count: Infinity,
    ratePerSecond: opts.rate,
    signal: stopSignal.signal,
    onProgress: (n) => (produced = n),
  }).catch((err: unknown) => logger.error({ err }, 'producer failed'));

  const worker = fromFile
    ? createMultiLangWorker({
        config: { ...fromFile.config, kinesisEndpoint: stack.kinesisEndpoint, dynamoDBEndpoint: stack.dynamodbEndpoint, metricsHttpPort: fromFile.config.metricsHttpPort ?? 0 },
        daemon: fromFile.daemon,
        logger,
        kinesis,
        dynamodb,
      })
    : new Worker({
        config: {
          streamName,
          applicationName: opts.application,
          kinesisEndpoint: stack.kinesisEndpoint,
          dynamoDBEndpoint: stack.dynamodbEndpoint,
          initialPositionInStream: 'TRIM_HORIZON',
          idleTimeBetweenReadsInMillis: 500,
          metricsHttpPort: 0, // the status page, on any free port
        },
        processorFactory: () => new CountingProcessor({ checkpointIntervalMillis: 2_000 }),
        kinesis,
        dynamodb,
        logger,
      });
  if (fromFile) out(`[${time()}] MultiLangDaemon: "${fromFile.daemon.executableName}" per shard, application "${fromFile.config.applicationName}"`);
  let consumedTotal = 0;
  worker.events.on('records.delivered', ({ count }) => (consumedTotal += count));
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
    const consumed = consumedTotal;
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
    if (worker.metricsUrl) out(`[${time()}] status page: ${worker.metricsUrl}`);
    const timer = setInterval(printProgress, opts.progressInterval);
    await new Promise<void>((resolve) => stopSignal.signal.addEventListener('abort', () => resolve(), { once: true }));
    clearInterval(timer);
  } finally {
    stopSignal.abort();
    await producer;
    await worker.shutdown();
    out(`[${time()}] produced ${produced}  consumed ${consumedTotal}; final checkpoints in lease table "${worker.config.tableName}":`);
    const leases = (await new LeaseTable(dynamodb, worker.config.tableName, systemClock).listLeases()).sort((a, b) => a.leaseKey.localeCompare(b.leaseKey));
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
