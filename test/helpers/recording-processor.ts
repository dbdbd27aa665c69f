/**
 * A record processor for tests: records every call and every record (with shard and parsed body), and lets a
 * test decide what to do at each point through hooks.
 */
import type {
  InitializationInput,
  KinesisClientRecord,
  ProcessRecordsInput,
  RecordProcessor,
  ShardEndedInput,
  ShutdownRequestedInput,
} from '../../src/processor/types.js';
import type { ExtendedSequenceNumber } from '../../src/checkpoint/sequence.js';

export interface Delivery {
  shardId: string;
  record: KinesisClientRecord;
}

export interface RecordingHooks {
  processRecords?: (input: ProcessRecordsInput) => void | Promise<void>;
  shutdownRequested?: (input: ShutdownRequestedInput) => void | Promise<void>;
  shardEnded?: (input: ShardEndedInput) => void | Promise<void>;
  leaseLost?: (shardId: string) => void | Promise<void>;
}

/** Everything every processor of one worker saw, in order. */
export class Recorder {
  readonly calls: { shardId: string; call: string }[] = [];
  readonly deliveries: Delivery[] = [];
  readonly initializedAt = new Map<string, ExtendedSequenceNumber>();
  constructor(private readonly hooks: RecordingHooks = {}) {}

  factory = (shardId: string): RecordProcessor => {
    const self = this;
    return {
      initialize(input: InitializationInput) {
        self.calls.push({ shardId, call: 'initialize' });
        self.initializedAt.set(shardId, input.extendedSequenceNumber);
      },
      async processRecords(input: ProcessRecordsInput) {
        self.calls.push({ shardId, call: 'processRecords' });
        for (const record of input.records) self.deliveries.push({ shardId, record });
        await self.hooks.processRecords?.(input);
      },
      async leaseLost() {
        self.calls.push({ shardId, call: 'leaseLost' });
        await self.hooks.leaseLost?.(shardId);
      },
      async shardEnded(input: ShardEndedInput) {
        self.calls.push({ shardId, call: 'shardEnded' });
        if (self.hooks.shardEnded) await self.hooks.shardEnded(input);
        else await input.checkpointer.checkpoint();
      },
      async shutdownRequested(input: ShutdownRequestedInput) {
        self.calls.push({ shardId, call: 'shutdownRequested' });
        if (self.hooks.shutdownRequested) await self.hooks.shutdownRequested(input);
        else await input.checkpointer.checkpoint();
      },
    };
  };

  ids(): string[] {
    return this.deliveries.map((d) => (d.record.json() as { id: string }).id);
  }
  callsFor(shardId: string): string[] {
    return this.calls.filter((c) => c.shardId === shardId).map((c) => c.call);
  }
}
