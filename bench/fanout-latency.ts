/**
 * Put-to-processRecords latency and consumer CPU, enhanced fan-out against polling, on the same stream in one
 * run, against the local emulators. Prints figures; fails only when a consumer missed or repeated a record.
 *
 * Each consumer is a Worker in its own child process (bench/fanout-latency-child.ts) with its own application
 * (lease table, fan-out consumer name), starting at LATEST. Warm-up records go to every shard until every
 * consumer has seen one on every shard (its leases are held and its reads or subscriptions deliver); then the
 * producer writes numbered records at a steady rate, each carrying the time just before its PutRecords call,
 * and every consumer records, per record, the time it reached processRecords minus that, and its own
 * process.cpuUsage() from the first put until its last record.
 *
 *   npm run bench:fanout -- [--rate 100] [--duration 30] [--shards 4] [--consumers fanout,polling,polling-200]
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { createKinesisClient } from '../src/aws/clients.js';
import { killOnProcessExit, terminate, whenExited, within, type ChildExit } from '../src/common/child-process.js';
import { sleepUnlessAborted, systemClock } from '../src/common/clock.js';
import { startLocalStack, type LocalStack } from '../src/local/stack.js';
import { produceRecords } from '../src/local/producer.js';
import { listShards } from '../src/shards/shard-sync.js';
import type { ChildMessage, LatencyConsumerConfig, LatencyReport, ParentMessage } from './fanout-latency-child.js';

const CONSUMERS = {
  fanout: { label: 'fan-out', config: { retrievalMode: 'FANOUT' } },
  polling: { label: 'polling, idle 1500 ms', config: { retrievalMode: 'POLLING', idleTimeBetweenReadsInMillis: 1500 } },
  'polling-200': { label: 'polling, idle 200 ms', config: { retrievalMode: 'POLLING', idleTimeBetweenReadsInMillis: 200 } },
} satisfies Record<string, { label: string; config: Partial<LatencyConsumerConfig> }>;
type ConsumerKey = keyof typeof CONSUMERS;

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '100' },
    duration: { type: 'string', default: '30' },
    shards: { type: 'string', default: '4' },
    consumers: { type: 'string', default: Object.keys(CONSUMERS).join(',') },
  },
});
const RATE = Number(values.rate);
const DURATION_SECONDS = Number(values.duration);
const SHARDS = Number(values.shards);
const KEYS = values.consumers.split(',').map((k) => {
  if (!(k in CONSUMERS)) throw new Error(`--consumers: unknown consumer '${k}' (known: ${Object.keys(CONSUMERS).join(', ')})`);
  return k as ConsumerKey;
});
const RECORD_BYTES = 200;
const STREAM = 'latency';
const WARMUP_MILLIS = 90_000;
const WARMUP_PUT_EVERY_MILLIS = 250;
/** After the last put, how long a consumer may take to see every record before it counts as missing some. */
const DRAIN_MILLIS = 30_000;
const STOP_GRACE_MILLIS = 20_000;
const CHILD_JS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fanout-latency-child.js');

interface Consumer {
  key: ConsumerKey;
  child: ChildProcess;
  exited: Promise<ChildExit>;
  warm: Set<string>;
  /** Seconds from the consumers' start until this one had seen a warm-up record on every shard. */
  readyAfter?: number;
  report?: LatencyReport;
  reported: Promise<LatencyReport>;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // One signal ends every wait and the producer: Ctrl-C (which reaches the children too: same process group;
  // they stop their workers, we stop the rest), or a consumer that dies or fails to start.
  const run = new AbortController();
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    run.abort(new Error('interrupted'));
  });
  const broken = (err: Error) => run.abort(err);
  const aborted = new Promise<never>((_, reject) => run.signal.addEventListener('abort', () => reject(run.signal.reason), { once: true }));
  aborted.catch(() => undefined);
  const until = <T>(p: Promise<T>): Promise<T> => Promise.race([p, aborted]);

  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
  const total = Math.round(RATE * DURATION_SECONDS);
  console.log(
    `${SHARDS} shards, ${RATE} records/s for ${DURATION_SECONDS} s (${total} records of ${RECORD_BYTES} bytes, 64 partition keys), ` +
      `consumers: ${KEYS.map((k) => CONSUMERS[k].label).join('; ')}`,
  );

  let stack: LocalStack | undefined;
  const consumers: Consumer[] = [];
  let failed = false;
  try {
    stack = await until(startLocalStack({ streams: [{ name: STREAM, shards: SHARDS }], signal: run.signal }));
    const kinesis = createKinesisClient({ kinesisEndpoint: stack.kinesisEndpoint });
    let producing: ReturnType<typeof produceRecords> | undefined;
    try {
      const shards = await until(listShards(kinesis, STREAM, systemClock, run.signal));
      const started = performance.now();
      for (const key of KEYS) {
        const config: LatencyConsumerConfig = {
          streamName: STREAM,
          applicationName: `latency-${key}`,
          workerId: key,
          kinesisEndpoint: stack.kinesisEndpoint,
          dynamoDBEndpoint: stack.dynamodbEndpoint,
          initialPositionInStream: 'LATEST',
          ...CONSUMERS[key].config,
        };
        const child = fork(CHILD_JS, [JSON.stringify(config)]);
        killOnProcessExit(child);
        let onReport!: (report: LatencyReport) => void;
        const reported = new Promise<LatencyReport>((resolve) => (onReport = resolve));
        const consumer: Consumer = { key, child, exited: whenExited(child), warm: new Set(), reported };
        consumers.push(consumer);
        child.on('message', (message: ChildMessage) => {
          switch (message.type) {
            case 'warm':
              consumer.warm.add(message.shardId);
              if (consumer.warm.size === shards.length) consumer.readyAfter = (performance.now() - started) / 1000;
              break;
            case 'report':
              consumer.report = message.report;
              onReport(message.report);
              break;
            case 'failed':
              broken(new Error(`consumer ${key} failed to start: ${message.error}`));
              break;
          }
        });
        void consumer.exited.then(({ code, signal, error }) => {
          if (!consumer.report) broken(new Error(`consumer ${key} exited before reporting (code ${code}, signal ${signal}${error ? `, ${error.message}` : ''})`));
        });
      }

      // Warm-up: one record per shard (explicit hash key = the shard's first) until every consumer saw one on each.
      const warmup = shards.map((s) => ({ PartitionKey: 'warmup', ExplicitHashKey: s.hashKeyRange?.startingHashKey, Data: Buffer.from('{"warmup":true}') }));
      while (!consumers.every((c) => c.warm.size === shards.length)) {
        if (performance.now() - started > WARMUP_MILLIS) {
          throw new Error(`not every shard delivered to every consumer within ${WARMUP_MILLIS / 1000} s: ${consumers.map((c) => `${c.key} ${c.warm.size}/${shards.length}`).join(', ')}`);
        }
        await until(kinesis.send(new PutRecordsCommand({ StreamName: STREAM, Records: warmup })));
        await until(sleepUnlessAborted(systemClock, WARMUP_PUT_EVERY_MILLIS, run.signal));
      }
      console.log(`every shard delivers to every consumer (started at once) after: ${consumers.map((c) => `${c.key} ${c.readyAfter?.toFixed(1)} s`).join(', ')}`);

      const runId = `run${Date.now().toString(36)}`;
      for (const c of consumers) c.child.send({ type: 'measure', runId } satisfies ParentMessage);
      producing = produceRecords(kinesis, { stream: STREAM, count: total, ratePerSecond: RATE, partitionKeys: 64, recordBytes: RECORD_BYTES, runId, signal: run.signal });
      const { written } = await until(producing);
      run.signal.throwIfAborted();
      for (const c of consumers) c.child.send({ type: 'finish', expected: written, deadlineMillis: DRAIN_MILLIS } satisfies ParentMessage);
      const reports = await until(Promise.all(consumers.map((c) => c.reported)));

      console.log('');
      console.log('consumer                 records   p50 ms   p99 ms   max ms   CPU µs/record   CPU % of a core   Kinesis calls');
      for (const [i, c] of consumers.entries()) {
        const r = reports[i]!;
        const calls = Object.entries(r.kinesisCalls)
          .map(([op, n]) => `${op} ${n}`)
          .join(', ');
        console.log(
          `${CONSUMERS[c.key].label.padEnd(22)} ${String(r.records).padStart(9)}   ${percentile(r.latencies, 50).toFixed(0).padStart(6)}   ` +
            `${percentile(r.latencies, 99).toFixed(0).padStart(6)}   ${(r.latencies.at(-1) ?? NaN).toFixed(0).padStart(6)}   ` +
            `${(r.cpuMicros / r.records).toFixed(0).padStart(13)}   ${((r.cpuMicros / (r.windowMillis * 1000)) * 100).toFixed(1).padStart(15)}   ${calls || '-'}`,
        );
      }
      console.log('');
      console.log('Latency: from just before the PutRecords call to the start of processRecords. kinesis-local sends a fan-out');
      console.log('event about once a second (AWS: ~70 ms from put to delivery), so the fan-out figures are the emulator\'s;');
      console.log('polling adds up to idleTimeBetweenReadsInMillis between a record\'s arrival and the next GetRecords.');
      console.log('CPU: each consumer process alone (worker + a processor that parses every record, no checkpoints), from the');
      console.log('first put to its last record; the emulators and the producer are not included. Kinesis calls: same window.');

      for (const [i, c] of consumers.entries()) {
        const r = reports[i]!;
        const problems = [r.missing > 0 ? `missed ${r.missing} of ${written} records` : '', r.duplicates > 0 ? `saw ${r.duplicates} records twice` : ''].filter(Boolean);
        if (problems.length > 0) {
          failed = true;
          console.error(`FAILED: ${CONSUMERS[c.key].label} ${problems.join(', ')}`);
        }
        // Retried errors (a dropped subscription, a throttled call) cost latency, not records: worth knowing, not a failure.
        if (r.workerErrors > 0) console.log(`note: ${CONSUMERS[c.key].label} reported ${r.workerErrors} worker.error events in the window`);
        if (c.key === 'fanout' && 'GetRecords' in r.kinesisCalls && !('SubscribeToShard' in r.kinesisCalls)) {
          console.log('note: the fan-out consumer polled (GetRecords, no SubscribeToShard): this build ignores retrievalMode.');
        }
      }
    } finally {
      // After an abort the producer still finishes the batch in flight (never half-written): not on a dead client.
      await producing?.catch(() => undefined);
      kinesis.destroy();
    }
  } catch (err) {
    failed = true;
    console.error(`FAILED: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await Promise.all(
      consumers.map(async (c) => {
        if (c.child.connected) c.child.send({ type: 'stop' } satisfies ParentMessage);
        // A consumer that ignores the stop message gets SIGTERM once its graceful shutdown had time, then SIGKILL.
        if (!(await within(c.exited, STOP_GRACE_MILLIS))) await terminate(c.child, c.exited, 5_000);
      }),
    );
    await stack?.stop();
  }
  if (failed) process.exitCode = interrupted ? 130 : 1;
}

await main();
