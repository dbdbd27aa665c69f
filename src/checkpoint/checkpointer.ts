/**
 * The Checkpointer handed to a processor for one shard lease (docs/checkpoints.md, 'Checkpoint rules'). It validates positions
 * (never behind the last checkpoint, never beyond the largest record delivered), turns "the last record
 * before shard end" into SHARD_END, skips writes of the value already stored, and serialises calls so
 * two checkpoints of one shard never race.
 */
import { IllegalArgumentException, ShutdownException } from '../common/errors.js';
import type { Checkpointer, KinesisClientRecord } from '../processor/types.js';
import { compareSequenceNumbers, extendedSequenceNumber, formatSequenceNumber, SHARD_END, type ExtendedSequenceNumber } from './sequence.js';

export type CheckpointWrite = (value: ExtendedSequenceNumber) => Promise<void>;

export class RecordProcessorCheckpointer implements Checkpointer {
  private last: ExtendedSequenceNumber;
  private largest: ExtendedSequenceNumber;
  private atShardEnd: ExtendedSequenceNumber | undefined;
  private closedReason: string | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly shardId: string,
    start: ExtendedSequenceNumber,
    private readonly write: CheckpointWrite,
  ) {
    this.last = start;
    this.largest = start;
  }

  get lastCheckpoint(): ExtendedSequenceNumber {
    return this.last;
  }
  get largestPermittedCheckpoint(): ExtendedSequenceNumber {
    return this.largest;
  }

  /** Records delivered up to here may be checkpointed. */
  advanceLargestPermitted(value: ExtendedSequenceNumber): void {
    // Keep a plain pair: the argument may be a whole record, whose payload must not outlive the batch.
    if (compareSequenceNumbers(value, this.largest) > 0) this.largest = { sequenceNumber: value.sequenceNumber, subSequenceNumber: value.subSequenceNumber };
  }

  /** Called just before `shardEnded`: from now on checkpoint() means SHARD_END. */
  markShardEnd(): void {
    this.atShardEnd = this.largest;
    this.largest = SHARD_END;
  }

  /** After leaseLost (or once shutdown completes) every checkpoint call fails with ShutdownException. */
  close(reason: string): void {
    this.closedReason = reason;
  }

  checkpoint(): Promise<void>;
  checkpoint(record: Pick<KinesisClientRecord, 'sequenceNumber' | 'subSequenceNumber'>): Promise<void>;
  checkpoint(sequenceNumber: string, subSequenceNumber?: number): Promise<void>;
  checkpoint(arg?: string | Pick<KinesisClientRecord, 'sequenceNumber' | 'subSequenceNumber'>, sub?: number): Promise<void> {
    let target: ExtendedSequenceNumber;
    try {
      target = this.resolveTarget(arg, sub);
    } catch (err) {
      return Promise.reject(err);
    }
    const run = this.chain.then(() => this.writeIfNeeded(target));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private resolveTarget(arg: string | Pick<KinesisClientRecord, 'sequenceNumber' | 'subSequenceNumber'> | undefined, sub: number | undefined): ExtendedSequenceNumber {
    if (arg === undefined) return this.largest;
    let requested: ExtendedSequenceNumber;
    if (typeof arg === 'string') {
      if (sub !== undefined && (!Number.isSafeInteger(sub) || sub < 0)) {
        throw new IllegalArgumentException(`invalid sub-sequence number ${String(sub)} for ${this.shardId}: expected an integer >= 0`);
      }
      requested = extendedSequenceNumber(arg, sub ?? 0);
    } else if (arg && typeof arg === 'object' && typeof arg.sequenceNumber === 'string') {
      requested = extendedSequenceNumber(arg.sequenceNumber, arg.subSequenceNumber ?? 0);
    } else {
      throw new IllegalArgumentException(`invalid checkpoint argument for ${this.shardId}: expected a sequence number string or a record`);
    }
    if (compareSequenceNumbers(requested, this.last) < 0 || compareSequenceNumbers(requested, this.largest) > 0) {
      throw new IllegalArgumentException(
        `checkpoint ${formatSequenceNumber(requested)} for ${this.shardId} is out of range: it must be between the last checkpoint ` +
          `${formatSequenceNumber(this.last)} and the largest delivered ${formatSequenceNumber(this.largest)}`,
      );
    }
    if (this.atShardEnd && compareSequenceNumbers(requested, this.atShardEnd) === 0) return SHARD_END;
    return requested;
  }

  private async writeIfNeeded(target: ExtendedSequenceNumber): Promise<void> {
    if (this.closedReason) throw new ShutdownException(`cannot checkpoint ${this.shardId}: ${this.closedReason}`);
    const order = compareSequenceNumbers(target, this.last);
    if (order === 0) return;
    if (order < 0) {
      // Validated against an older checkpoint while an earlier call was in flight; writing it now would go back.
      throw new IllegalArgumentException(
        `checkpoint ${formatSequenceNumber(target)} for ${this.shardId} is behind the last checkpoint ${formatSequenceNumber(this.last)}`,
      );
    }
    await this.write(target);
    this.last = target;
  }
}
