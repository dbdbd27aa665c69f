/**
 * What a shard consumer reads from, whatever the retrieval mode: a RecordsSource hands out RecordsBatches one at a
 * time. BatchQueue is the bounded hand-over between a source's fetching loop and the consumer, shared by polling
 * and fan-out so both bound what they hold the same way (see docs/retrieval.md, 'Prefetch and flow control').
 */
import type { ChildShard, KinesisClientRecord } from '../processor/types.js';

export interface RecordsBatch {
  readonly records: readonly KinesisClientRecord[];
  readonly millisBehindLatest: number;
  /** True when the shard is closed and this is its last batch. */
  readonly isShardEnd: boolean;
  readonly childShards?: readonly ChildShard[];
  /** Payload bytes, for the prefetch bound. */
  readonly bytes: number;
}

/** What a consumer reads from. `next` waits for the next batch; `close` stops fetching. */
export interface RecordsSource {
  next(signal: AbortSignal): Promise<RecordsBatch>;
  close(): Promise<void>;
}

/** Waits until `wake` is called or `signal` aborts; returns the cancel hook to store. */
function waitForWake(signal: AbortSignal, setWake: (wake: (() => void) | undefined) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const onAbort = () => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
    setWake(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  }).finally(() => setWake(undefined));
}

/**
 * Batches fetched ahead of the consumer, bounded by count and bytes (one batch always fits, however large). The
 * fetching side pushes and waits for space; the consumer takes. A failure or the end is passed on once the
 * batches before it have been taken.
 */
export class BatchQueue {
  private readonly queue: RecordsBatch[] = [];
  private queuedBytes = 0;
  private failure: Error | undefined;
  private ended = false;
  private wakeConsumer: (() => void) | undefined;
  private wakeProducer: (() => void) | undefined;

  constructor(
    private readonly shardId: string,
    private readonly maxBatches: number,
    private readonly maxBytes: number,
  ) {}

  get length(): number {
    return this.queue.length;
  }

  /** True once the last batch (shard end) was pushed or the source failed: nothing more will come. */
  get finished(): boolean {
    return this.ended || this.failure !== undefined;
  }

  push(batch: RecordsBatch): void {
    this.queue.push(batch);
    this.queuedBytes += batch.bytes;
    if (batch.isShardEnd) this.ended = true;
    this.wakeConsumer?.();
  }

  /** The fetching loop died: the consumer gets this error after the batches already queued. */
  fail(error: Error): void {
    this.failure = error;
    this.wakeConsumer?.();
  }

  hasSpace(): boolean {
    return this.queue.length < this.maxBatches && (this.queue.length === 0 || this.queuedBytes < this.maxBytes);
  }

  /** Resolves when another batch may be pushed, or when `signal` aborts. */
  async waitForSpace(signal: AbortSignal): Promise<void> {
    while (!signal.aborted && !this.hasSpace()) {
      await waitForWake(signal, (wake) => (this.wakeProducer = wake));
    }
  }

  /** The next batch; waits for one. Throws the source's failure, the signal's reason, or after the last batch. */
  async take(signal: AbortSignal): Promise<RecordsBatch> {
    for (;;) {
      const batch = this.queue.shift();
      if (batch) {
        this.queuedBytes -= batch.bytes;
        this.wakeProducer?.();
        return batch;
      }
      if (this.failure) throw this.failure;
      if (signal.aborted) throw signal.reason;
      if (this.ended) throw new Error(`records source for ${this.shardId} is closed`);
      await waitForWake(signal, (wake) => (this.wakeConsumer = wake));
    }
  }
}
