/**
 * One worker process of the chaos run (bench/chaos/harness.ts starts, kills, pauses and stops these).
 *
 * It runs the real Worker with a processor that appends every delivery and every lifecycle call to a JSON-lines
 * file with synchronous writes, so a SIGKILL loses nothing that was logged: the harness judges loss,
 * duplicates, order and overlap from these files alone. Times are epoch milliseconds with sub-ms precision
 * (all processes share the machine's clock).
 *
 *   node dist/bench/chaos/worker.js '<json WorkerProcessOptions>'
 */
import fs from 'node:fs';
import { Worker } from '../../src/worker/worker.js';
import { createLogger } from '../../src/common/logger.js';
import { awsErrorKind } from '../../src/aws/errors.js';
import type { RetrievalMode } from '../../src/config/fields.js';
import type { ChaosLine } from './log.js';
import { chaosProcessor, now } from './processor.js';
import { copyCounts, countLeaseTableCalls } from '../lease-calls.js';

export interface WorkerProcessOptions {
  workerId: string;
  applicationName: string;
  streamName: string;
  kinesisEndpoint: string;
  dynamodbEndpoint: string;
  logFile: string;
  failoverTimeMillis: number;
  /** The processor checkpoints after a batch when this long has passed since its last checkpoint. */
  checkpointIntervalMillis: number;
  /** How the worker reads shards; absent: polling, because idleTimeBetweenReadsInMillis is set. */
  retrievalMode?: RetrievalMode;
  /** Polling only: ignored with retrievalMode FANOUT. */
  idleTimeBetweenReadsInMillis: number;
  shardSyncIntervalMillis: number;
  statsIntervalMillis: number;
  /** The Worker's shutdownTimeoutMillis (its default when absent): the grace a SIGTERM gets. */
  shutdownTimeoutMillis?: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as WorkerProcessOptions;
const fd = fs.openSync(options.logFile, 'a');
const w = options.workerId;

function log(line: ChaosLine): void {
  fs.writeSync(fd, JSON.stringify(line) + '\n');
}

let sessions = 0;

const worker = new Worker({
  config: {
    streamName: options.streamName,
    applicationName: options.applicationName,
    workerId: w,
    kinesisEndpoint: options.kinesisEndpoint,
    dynamoDBEndpoint: options.dynamodbEndpoint,
    initialPositionInStream: 'TRIM_HORIZON',
    failoverTimeMillis: options.failoverTimeMillis,
    ...(options.retrievalMode === 'FANOUT' ? { retrievalMode: 'FANOUT' as const } : { retrievalMode: options.retrievalMode, idleTimeBetweenReadsInMillis: options.idleTimeBetweenReadsInMillis }),
    shardSyncIntervalMillis: options.shardSyncIntervalMillis,
  },
  processorFactory: () => chaosProcessor(w, log, options.checkpointIntervalMillis, () => `${w}#${++sessions}`),
  shutdownTimeoutMillis: options.shutdownTimeoutMillis,
  logger: createLogger({ level: process.env.KCL_CHAOS_LOG_LEVEL ?? 'warn' }),
});
worker.events.on('lease.acquired', (e) => log({ e: 'lease', w, kind: 'acquired', shard: e.leaseKey, from: e.stolenFrom, t: now() }));
worker.events.on('lease.lost', (e) => log({ e: 'lease', w, kind: 'lost', shard: e.leaseKey, reason: e.reason, t: now() }));
worker.events.on('lease.released', (e) => log({ e: 'lease', w, kind: 'released', shard: e.leaseKey, t: now() }));
worker.events.on('subscription.ended', (e) =>
  log({ e: 'sub', w, shard: e.shardId, outcome: e.outcome, events: e.events, millis: e.millis, ...(e.error ? { err: awsErrorKind(e.error) } : {}), t: now() }),
);
const kinesisCalls: Record<string, number> = {};
worker.events.on('aws.call', (e) => {
  if (e.service === 'kinesis') kinesisCalls[e.operation] = (kinesisCalls[e.operation] ?? 0) + 1;
});

const leaseCalls = countLeaseTableCalls(worker.events);
const writeStats = () => log({ e: 'calls', w, calls: copyCounts(leaseCalls), kinesis: { ...kinesisCalls }, t: now() });
const statsTimer = setInterval(writeStats, options.statsIntervalMillis);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  log({ e: 'term', w, signal, t: now() });
  void worker.shutdown().finally(() => {
    clearInterval(statsTimer);
    writeStats();
    log({ e: 'stopped', w, t: now() });
    fs.closeSync(fd);
    process.exit(0);
  });
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

log({ e: 'start', w, pid: process.pid, t: now() });
worker.start().then(
  () => log({ e: 'started', w, t: now() }),
  (err: unknown) => {
    log({ e: 'failed', w, err: String(err), t: now() });
    process.exit(1);
  },
);
