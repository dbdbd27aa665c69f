/**
 * The demo's record processor (`npm start`, `kcl demo`): counts records and bytes per shard, checkpoints every
 * few seconds (retrying when DynamoDB throttles), and checkpoints at shard end and at shutdown so the next
 * owner resumes exactly after the last record processed. It uses only the public processor API.
 */
import { ShutdownException, ThrottlingException } from '../common/errors.js';
import type { Checkpointer, InitializationInput, ProcessRecordsInput, RecordProcessor, ShardEndedInput, ShutdownRequestedInput } from '../processor/types.js';

export interface CountingOptions {
  checkpointIntervalMillis?: number;
  onRecord?: (shardId: string, text: string) => void;
}

export class CountingProcessor implements RecordProcessor {
  shardId = '';
  records = 0;
  bytes = 0;
  private lastCheckpointAt = Date.now();

  constructor(private readonly options: CountingOptions = {}) {}

  initialize(input: InitializationInput): void {
    this.shardId = input.shardId;
    this.lastCheckpointAt = Date.now();
  }

  async processRecords(input: ProcessRecordsInput): Promise<void> {
    for (const record of input.records) {
      this.records++;
      this.bytes += record.data.length;
      this.options.onRecord?.(this.shardId, record.text());
    }
    if (Date.now() - this.lastCheckpointAt >= (this.options.checkpointIntervalMillis ?? 5_000)) {
      await checkpointWithRetry(input.checkpointer);
      this.lastCheckpointAt = Date.now();
    }
  }

  leaseLost(): void {
    // Another worker owns the shard now; nothing to checkpoint.
  }

  async shardEnded(input: ShardEndedInput): Promise<void> {
    // Required: the shard's children are processed only after this checkpoint.
    await checkpointWithRetry(input.checkpointer);
  }

  async shutdownRequested(input: ShutdownRequestedInput): Promise<void> {
    await checkpointWithRetry(input.checkpointer);
  }
}

/** Retries throttled checkpoints with backoff; gives up quietly if the lease is gone. */
export async function checkpointWithRetry(checkpointer: Checkpointer, attempts = 5): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await checkpointer.checkpoint();
      return;
    } catch (err) {
      if (err instanceof ShutdownException) return;
      if (err instanceof ThrottlingException && attempt < attempts) {
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
        continue;
      }
      throw err;
    }
  }
}
