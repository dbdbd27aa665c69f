/** A record processor that does nothing (checkpointing only at shard end, as required): for idle-cost benchmarks. */
import type { RecordProcessor } from '../src/processor/types.js';

export const idleProcessor = (): RecordProcessor => ({
  initialize: () => undefined,
  processRecords: () => undefined,
  leaseLost: () => undefined,
  shardEnded: (i) => i.checkpointer.checkpoint(),
  shutdownRequested: () => undefined,
});
