/**
 * The consumer side of bench/fanout-latency.ts: one Worker in its own process (so `process.cpuUsage()` is this
 * consumer's alone), driven by its parent over the IPC channel.
 *
 * Warm-up records (`{"warmup":true}`) are reported once per shard, so the parent knows every shard delivers.
 * Records of the measured run (ids `<runId>-<n>`) have their put-to-processRecords latency recorded; the CPU
 * window runs from `measure` until the last expected record has been seen (or the parent's deadline passed).
 */
import { silentLogger } from '../src/common/logger.js';
import type { KclConfigInput } from '../src/config/config.js';
import type { RecordProcessor } from '../src/processor/types.js';
import { Worker } from '../src/worker/worker.js';

/**
 * The retrieval-mode key may be newer than the config type this file is compiled against; buildConfig ignores keys
 * it does not know, so a config carrying it simply polls there.
 */
export type LatencyConsumerConfig = KclConfigInput;

export type ParentMessage =
  | { type: 'measure'; runId: string }
  | { type: 'finish'; expected: number; deadlineMillis: number }
  | { type: 'stop' };

export interface LatencyReport {
  records: number;
  duplicates: number;
  missing: number;
  /** Put-to-processRecords latency of every measured record, in ms, sorted. */
  latencies: number[];
  cpuMicros: number;
  windowMillis: number;
  /** worker.error events in the CPU window. */
  workerErrors: number;
  /** Kinesis calls by operation in the CPU window. */
  kinesisCalls: Record<string, number>;
}

export type ChildMessage = { type: 'warm'; shardId: string } | { type: 'report'; report: LatencyReport } | { type: 'failed'; error: string };

const config = JSON.parse(process.argv[2] ?? '') as LatencyConsumerConfig;
const send = (message: ChildMessage): void => {
  if (process.connected) process.send?.(message);
};

const warmShards = new Set<string>();
let runId: string | undefined;
let cpuAtStart = 0;
let measureStarted = 0;
const seen = new Set<number>();
const latencies: number[] = [];
let duplicates = 0;
let expected = Infinity;
let workerErrors = 0;
const kinesisCalls: Record<string, number> = {};
/** Set when the last expected record arrives: the end of the CPU window. */
let completed: { cpu: number; at: number } | undefined;
let onComplete: () => void = () => undefined;

const cpuMicros = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

function checkComplete(): void {
  if (completed || seen.size < expected) return;
  completed = { cpu: cpuMicros(), at: performance.now() };
  onComplete();
}

const processor = (): RecordProcessor => ({
  initialize: () => undefined,
  processRecords: ({ shardId, records }) => {
    const now = Date.now();
    for (const r of records) {
      // Parsed once, by hand: parseProducedRecord would parse every record a second time, on the CPU we measure.
      const value = r.json<{ warmup?: boolean; id?: unknown; n?: unknown; ts?: unknown }>();
      if (value.warmup === true) {
        if (!warmShards.has(shardId)) {
          warmShards.add(shardId);
          send({ type: 'warm', shardId });
        }
        continue;
      }
      const { id, n, ts } = value;
      if (typeof id !== 'string' || typeof n !== 'number' || typeof ts !== 'number') throw new Error(`unexpected record on ${shardId}: ${r.text()}`);
      if (runId === undefined || !id.startsWith(`${runId}-`)) continue;
      if (seen.has(n)) {
        duplicates++;
        continue;
      }
      seen.add(n);
      latencies.push(now - ts);
    }
    checkComplete();
  },
  leaseLost: () => undefined,
  shardEnded: ({ checkpointer }) => checkpointer.checkpoint(),
  shutdownRequested: ({ checkpointer }) => checkpointer.checkpoint(),
});

const worker = new Worker({ config, processorFactory: processor, logger: silentLogger });
const inWindow = (): boolean => runId !== undefined && !completed;
worker.events.on('worker.error', () => {
  if (inWindow()) workerErrors++;
});
worker.events.on('aws.call', ({ service, operation }) => {
  if (service === 'kinesis' && inWindow()) kinesisCalls[operation] = (kinesisCalls[operation] ?? 0) + 1;
});

async function finish(expectedRecords: number, deadlineMillis: number): Promise<void> {
  expected = expectedRecords;
  const all = new Promise<void>((resolve) => (onComplete = resolve));
  checkComplete();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMillis)))]);
  clearTimeout(timer);
  const end = completed ?? { cpu: cpuMicros(), at: performance.now() };
  send({
    type: 'report',
    report: {
      records: seen.size,
      duplicates,
      missing: expected - seen.size,
      latencies: latencies.sort((a, b) => a - b),
      cpuMicros: end.cpu - cpuAtStart,
      windowMillis: end.at - measureStarted,
      workerErrors,
      kinesisCalls,
    },
  });
}

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  void worker.shutdown().finally(() => process.exit(0));
}

process.on('message', (message: ParentMessage) => {
  switch (message.type) {
    case 'measure':
      runId = message.runId;
      measureStarted = performance.now();
      cpuAtStart = cpuMicros();
      break;
    case 'finish':
      void finish(message.expected, message.deadlineMillis);
      break;
    case 'stop':
      stop();
      break;
  }
});
// The parent went away (crashed, or was killed): no consumer may outlive it.
process.on('disconnect', stop);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

worker.start().catch((err: unknown) => {
  send({ type: 'failed', error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
