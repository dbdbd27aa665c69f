/**
 * Whether reading one shard works: a source reports each failed and each successful read here, and the operator
 * hears once per outage that reads are failing (a warning and `retrieval.failing`) and once that they work again
 * (`retrieval.recovered`). Throttling is Kinesis pacing us, so it is only reported when it persists.
 */
import { awsErrorKind } from '../aws/errors.js';
import type { Clock } from '../common/clock.js';
import type { KclEvents } from '../common/events.js';
import type { Logger } from '../common/logger.js';

/** Throttled (or in-use) answers in a row before they count as an outage. */
const TOLERATED_PACING_ANSWERS = 5;

export class ReadHealth {
  /** Since when reads have been failing (this clock), and whether that was reported. */
  private failingSince: number | undefined;
  private reported = false;

  constructor(
    private readonly shardId: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly events?: KclEvents,
  ) {}

  /** A read failed; `consecutive` counts the failures in a row, this one included. */
  failed(error: Error, consecutive: number): void {
    const now = this.clock.now();
    this.failingSince ??= now;
    const kind = awsErrorKind(error);
    if (this.reported || ((kind === 'throttled' || kind === 'in-use') && consecutive < TOLERATED_PACING_ANSWERS)) return;
    this.reported = true;
    const { shardId } = this;
    const failingForMillis = now - this.failingSince;
    this.logger.warn({ shardId, err: error.message, failingForMillis }, `reading shard ${shardId} is failing; retrying with backoff from where it was`);
    this.events?.emit('retrieval.failing', { shardId, error, failingForMillis });
  }

  succeeded(): void {
    if (this.failingSince === undefined) return;
    const failedForMillis = this.clock.now() - this.failingSince;
    if (this.reported) {
      const { shardId } = this;
      this.logger.warn({ shardId, failedForMillis }, `reading shard ${shardId} works again`);
      this.events?.emit('retrieval.recovered', { shardId, failedForMillis });
    }
    this.failingSince = undefined;
    this.reported = false;
  }
}
