/**
 * The multi-language sample application in TypeScript: a port of amazon_kclpy's `sample_kclpy_app.py`, run as
 * a child of the MultiLangDaemon (`kcl multilang --properties-file samples/multilang/sample.properties`, whose
 * `executableName = node dist/samples/multilang/sample-processor.js`). Any MultiLangDaemon works, Java's too.
 *
 * stdout is the protocol channel to the daemon, so this file logs to stderr (the daemon relays it); the
 * runner also redirects stray console.log output there.
 *
 * Environment: CHECKPOINT_INTERVAL_MS (default 60000) between checkpoints, CHECKPOINT_RETRY_MS (default 5000)
 * between checkpoint attempts.
 */
// `from 'kcl-ts/child'` in a project of your own; `../../src/child.js` here.
import {
  runChildProcessor,
  InvalidStateException,
  ShutdownException,
  ThrottlingException,
  type Checkpointer,
  type InitializationInput,
  type ProcessRecordsInput,
  type RecordProcessor,
  type ShardEndedInput,
  type ShutdownRequestedInput,
} from '../../src/child.js';

const CHECKPOINT_INTERVAL_MS = envMillis('CHECKPOINT_INTERVAL_MS', 60_000);
const CHECKPOINT_RETRY_MS = envMillis('CHECKPOINT_RETRY_MS', 5_000);
const CHECKPOINT_RETRIES = 5;

function envMillis(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return process.env[name] !== undefined && process.env[name] !== '' && Number.isFinite(value) && value >= 0 ? value : fallback;
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Position {
  readonly sequenceNumber: bigint;
  readonly subSequenceNumber: number;
}

class SampleProcessor implements RecordProcessor {
  private largest: Position | undefined;
  private lastCheckpointTime = Date.now();

  initialize({ shardId, extendedSequenceNumber }: InitializationInput): void {
    this.largest = undefined;
    this.lastCheckpointTime = Date.now();
    log(`Initialized ${shardId} at ${extendedSequenceNumber.sequenceNumber}`);
  }

  async processRecords({ records, checkpointer }: ProcessRecordsInput): Promise<void> {
    try {
      for (const record of records) {
        const seq = BigInt(record.sequenceNumber);
        const sub = record.subSequenceNumber;
        this.processRecord(record.data, record.partitionKey, seq, sub);
        if (this.shouldUpdateSequence(seq, sub)) this.largest = { sequenceNumber: seq, subSequenceNumber: sub };
      }
      // Checkpoints every CHECKPOINT_INTERVAL_MS.
      if (this.largest && Date.now() - this.lastCheckpointTime >= CHECKPOINT_INTERVAL_MS) {
        await this.checkpoint(checkpointer, this.largest.sequenceNumber.toString(), this.largest.subSequenceNumber);
        this.lastCheckpointTime = Date.now();
      }
    } catch (err) {
      log(`Encountered an exception while processing records. Exception was ${String(err)}`);
    }
  }

  leaseLost(): void {
    log('Lease has been lost');
  }

  async shardEnded({ checkpointer }: ShardEndedInput): Promise<void> {
    log('Shard has ended checkpointing');
    await checkpointer.checkpoint(); // SHARD_END; the shard's children start only after this
  }

  async shutdownRequested({ checkpointer }: ShutdownRequestedInput): Promise<void> {
    log('Shutdown has been requested, checkpointing.');
    await checkpointer.checkpoint();
  }

  /** Insert your processing logic here. */
  private processRecord(data: Buffer, partitionKey: string, sequenceNumber: bigint, subSequenceNumber: number): void {
    log(`Record (Partition Key: ${partitionKey}, Sequence Number: ${sequenceNumber}, Subsequence Number: ${subSequenceNumber}, Data Size: ${data.length})`);
  }

  private shouldUpdateSequence(seq: bigint, sub: number): boolean {
    const largest = this.largest;
    return !largest || seq > largest.sequenceNumber || (seq === largest.sequenceNumber && sub > largest.subSequenceNumber);
  }

  /** Checkpoints with retries on retryable errors. */
  private async checkpoint(checkpointer: Checkpointer, sequenceNumber: string, subSequenceNumber: number): Promise<void> {
    for (let n = 0; n < CHECKPOINT_RETRIES; n++) {
      try {
        await checkpointer.checkpoint(sequenceNumber, subSequenceNumber);
        return;
      } catch (err) {
        if (err instanceof ShutdownException) {
          // Another worker has taken the lease for this shard (or it was lost): stop checkpointing.
          log('Encountered shutdown exception, skipping checkpoint');
          return;
        } else if (err instanceof ThrottlingException) {
          // DynamoDB is overloaded; give it some time to recover.
          if (n === CHECKPOINT_RETRIES - 1) {
            log(`Failed to checkpoint after ${n + 1} attempts, giving up.`);
            return;
          }
          log(`Was throttled while checkpointing, will attempt again in ${CHECKPOINT_RETRY_MS / 1000} seconds`);
        } else if (err instanceof InvalidStateException) {
          log('MultiLangDaemon reported an invalid state while checkpointing.');
        } else {
          log(`Encountered an error while checkpointing, error was ${String(err)}.`);
        }
      }
      await sleep(CHECKPOINT_RETRY_MS);
    }
  }
}

await runChildProcessor(new SampleProcessor());
