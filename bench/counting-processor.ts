/**
 * The processor logic the benchmark runs share: parse every record as JSON, count it, checkpoint each batch.
 * In-process it is used directly; through the daemon it runs in a child (children/ts-counter.ts). Imports no
 * AWS client, so a child that loads it starts as a user's child would.
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
