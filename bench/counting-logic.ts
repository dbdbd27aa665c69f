/**
 * Running a Worker with the benchmarks' counting processor (counting-processor.ts) until a number of records
 * went through, timed (wall and this process's CPU).
 */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { silentLogger } from '../src/common/logger.js';
import type { KclConfigInput } from '../src/config/config.js';
import { Worker } from '../src/worker/worker.js';
import { countingProcessor } from './counting-processor.js';

export { countingProcessor };

/** This process's CPU time so far (user + system), µs. */
export function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/**
 * Starts a Worker with the counting processor and resolves once it has delivered `records`, with the time and
 * CPU that took (start-up included). `beforeStart` sees the worker first (to listen to its events). The worker
 * is still running: the caller shuts it down.
 */
export async function consumeCounted(
  config: KclConfigInput,
  records: number,
  clients: { kinesis: KinesisClient; dynamodb: DynamoDBClient },
  beforeStart: (worker: Worker) => void = () => undefined,
): Promise<{ worker: Worker; delivered: number; millis: number; cpuMicros: number }> {
  let delivered = 0;
  let done!: () => void;
  const drained = new Promise<void>((r) => (done = r));
  const worker = new Worker({
    config,
    processorFactory: () =>
      countingProcessor((n) => {
        delivered += n;
        if (delivered >= records) done();
      }),
    ...clients,
    logger: silentLogger,
  });
  beforeStart(worker);
  const started = performance.now();
  const cpu0 = cpuMicros();
  await worker.start();
  await drained;
  return { worker, delivered, millis: performance.now() - started, cpuMicros: cpuMicros() - cpu0 };
}
