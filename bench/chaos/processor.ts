/**
 * The chaos run's record processor: it writes every delivery and every lifecycle call as a chaos line
 * (log.ts), checkpointing after a batch once `checkpointIntervalMillis` has passed since its last checkpoint,
 * at shard end and in shutdownRequested. A failed checkpoint is written down, never thrown. Used by the worker
 * processes (worker.ts) and by tests that judge in-process workers with the same analysis.
 */
import { parseProducedRecord } from '../../src/local/producer.js';
import type { Checkpointer, RecordProcessor } from '../../src/processor/types.js';
import type { ChaosLine, DeliveredRecord } from './log.js';

/** Epoch milliseconds with sub-ms precision (all processes share the machine's clock). */
export const now = (): number => performance.timeOrigin + performance.now();

/** `nextSession` names each processor session (one per initialize), unique across the run. */
export function chaosProcessor(w: string, log: (line: ChaosLine) => void, checkpointIntervalMillis: number, nextSession: () => string): RecordProcessor {
  let session = '';
  let shard = '';
  let lastCheckpointAt = 0;
  const checkpoint = async (cp: Checkpointer) => {
    try {
      await cp.checkpoint();
      lastCheckpointAt = now();
      log({ e: 'cp', w, s: session, shard, seq: cp.lastCheckpoint.sequenceNumber, sub: cp.lastCheckpoint.subSequenceNumber, t: lastCheckpointAt });
    } catch (err) {
      log({ e: 'cperr', w, s: session, shard, err: err instanceof Error ? `${err.name}: ${err.message}` : String(err), t: now() });
    }
  };
  return {
    initialize(input) {
      session = nextSession();
      shard = input.shardId;
      lastCheckpointAt = now();
      log({ e: 'init', w, s: session, shard, cp: input.extendedSequenceNumber.sequenceNumber, cpSub: input.extendedSequenceNumber.subSequenceNumber, t: now() });
    },
    async processRecords(input) {
      if (input.records.length > 0) {
        const r = input.records.map((rec): DeliveredRecord => {
          const p = parseProducedRecord(rec.data);
          return [p.n, Number(p.pk.slice(3)), p.seq, rec.sequenceNumber, rec.subSequenceNumber];
        });
        log({ e: 'recs', w, s: session, shard, r, t: now() });
      }
      if (now() - lastCheckpointAt >= checkpointIntervalMillis || input.isAtShardEnd) await checkpoint(input.checkpointer);
    },
    leaseLost() {
      log({ e: 'end', w, s: session, shard, reason: 'leaseLost', t: now() });
    },
    async shardEnded(input) {
      await checkpoint(input.checkpointer);
      log({ e: 'end', w, s: session, shard, reason: 'shardEnded', t: now() });
    },
    async shutdownRequested(input) {
      await checkpoint(input.checkpointer);
      log({ e: 'end', w, s: session, shard, reason: 'shutdownRequested', t: now() });
    },
  };
}
