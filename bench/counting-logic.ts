/**
 * The processor logic both benchmark runs share: parse every record as JSON, count it, checkpoint each batch.
 * In-process it is used directly; through the daemon it runs in a child via runChildProcessor.
 */
import type { RecordProcessor } from '../src/processor/types.js';

export function countingProcessor(onRecords: (n: number) => void = () => undefined): RecordProcessor {
  return {
    initialize: () => undefined,
    processRecords: async ({ records, checkpointer }) => {
      for (const r of records) r.json();
      onRecords(records.length);
      await checkpointer.checkpoint();
    },
    leaseLost: () => undefined,
    shardEnded: ({ checkpointer }) => checkpointer.checkpoint(),
    shutdownRequested: ({ checkpointer }) => checkpointer.checkpoint(),
  };
}
