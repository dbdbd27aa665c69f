/**
 * One timed consumer run for bench/multilang.ts, in a process of its own so that the CPU it reports is the
 * consumer's alone (the emulators and the orchestrator live elsewhere):
 *
 *   node dist/bench/multilang-run.js '<RunSpec as JSON>'
 *
 * Runs a Worker (in-process counting processor) or a MultiLangDaemon (a Node or Python child per shard) until
 * `records` were delivered, then prints one RunResult JSON line on stdout. The clock and the CPU counters start
 * at worker.start(), so lease-table creation and child start-up are included, as a user would see them.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDynamoDBClient, createKinesisClient } from '../src/aws/clients.js';
import { silentLogger } from '../src/common/logger.js';
import type { KclConfigInput } from '../src/config/config.js';
import * as daemonConfig from '../src/multilang/daemon-config.js';
import * as daemon from '../src/multilang/daemon.js';
import { Worker } from '../src/worker/worker.js';
import { countingProcessor, cpuMicros } from './counting-logic.js';
import { sampleTree } from './proc.js';

export type RunMode = 'inprocess' | 'node' | 'ts' | 'python' | 'ack';

export interface RunSpec {
  mode: RunMode;
  kinesisEndpoint: string;
  dynamodbEndpoint: string;
  stream: string;
  applicationName: string;
  records: number;
  maxRecords: number;
  idleTimeBetweenReadsInMillis: number;
  /** Another build's dist/ to take the daemon from (a baseline to compare with in the same run). */
  daemonDist?: string;
}

export interface RunResult {
  mode: RunMode;
  daemonDist?: string;
  delivered: number;
  millis: number;
  /** This process (the worker or the daemon), µs. */
  ownCpuMicros: number;
  /** Sum over its child processes alive at the end (the daemon's children), µs; 0 in-process. */
  childCpuMicros: number;
  children: number;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The bench children exactly as a user would name them in the daemon's properties file. The kcl-ts child is
 * this package's code, so a run with another build's daemon (`dist`) takes that build's child too.
 */
export function childExecutable(mode: Exclude<RunMode, 'inprocess'>, dist = path.join(repoRoot, 'dist')): string {
  switch (mode) {
    case 'node':
      return `${process.execPath} ${process.env.KCL_BENCH_CHILD_NODE_ARGS ?? ''} ${path.join(repoRoot, 'bench/children/node-counter.cjs')}`;
    case 'ts':
      return `${process.execPath} ${process.env.KCL_BENCH_CHILD_NODE_ARGS ?? ''} ${path.join(dist, 'bench/children/ts-counter.js')}`;
    case 'python':
      return `python3 ${path.join(repoRoot, 'bench/children/python-counter.py')}`;
    case 'ack':
      return `${process.execPath} ${path.join(repoRoot, 'bench/children/ack-child.cjs')}`;
  }
}

async function run(spec: RunSpec): Promise<RunResult> {
  const kinesis = createKinesisClient({ kinesisEndpoint: spec.kinesisEndpoint });
  const dynamodb = createDynamoDBClient({ dynamoDBEndpoint: spec.dynamodbEndpoint });
  const config: KclConfigInput = {
    streamName: spec.stream,
    applicationName: spec.applicationName,
    kinesisEndpoint: spec.kinesisEndpoint,
    dynamoDBEndpoint: spec.dynamodbEndpoint,
    initialPositionInStream: 'TRIM_HORIZON',
    idleTimeBetweenReadsInMillis: spec.idleTimeBetweenReadsInMillis,
    maxRecords: spec.maxRecords,
  };
  let worker: Worker;
  if (spec.mode === 'inprocess') {
    worker = new Worker({ config, processorFactory: () => countingProcessor(), kinesis, dynamodb, logger: silentLogger });
  } else {
    const base = spec.daemonDist;
    const { createMultiLangWorker } = base ? ((await import(path.join(base, 'src/multilang/daemon.js'))) as typeof daemon) : daemon;
    const { buildDaemonSetup } = base ? ((await import(path.join(base, 'src/multilang/daemon-config.js'))) as typeof daemonConfig) : daemonConfig;
    worker = createMultiLangWorker({ ...buildDaemonSetup({ ...config, executableName: childExecutable(spec.mode, base) }), kinesis, dynamodb, logger: silentLogger });
  }
  let delivered = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  const trace = process.env.KCL_BENCH_TRACE === '1';
  worker.events.on('records.delivered', ({ count, shardId }) => {
    delivered += count;
    if (trace) process.stderr.write(`${spec.mode} +${(performance.now() - started).toFixed(0)} ms ${shardId} ${count} (${delivered})\n`);
    if (delivered >= spec.records) done();
  });
  const started = performance.now();
  const cpu0 = cpuMicros();
  await worker.start();
  await all;
  const millis = performance.now() - started;
  const ownCpuMicros = cpuMicros() - cpu0;
  // The children are still alive here (they exit at shutdown): their CPU so far is what this run cost them.
  const tree = sampleTree(process.pid);
  const children = { micros: tree.descendantsMicros, count: tree.byPid.size };
  await worker.shutdown();
  kinesis.destroy();
  dynamodb.destroy();
  return { mode: spec.mode, daemonDist: spec.daemonDist, delivered, millis, ownCpuMicros, childCpuMicros: children.micros, children: children.count };
}

const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const result = await run(JSON.parse(process.argv[2] ?? '{}') as RunSpec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}
