/**
 * The stream consumer that enhanced fan-out reads as (docs/retrieval.md, 'Enhanced fan-out'): a configured
 * consumer ARN is checked and used; otherwise the consumer named after the application (or `consumerName`) is
 * looked up, registered when missing, and waited for until ACTIVE. Consumers are never deregistered: other
 * workers of the application share it, and a worker cannot know it is the last.
 */
import {
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  RegisterStreamConsumerCommand,
  type ConsumerDescription,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { AWS_DEADLINES, callAws, type AwsCallOutcome } from '../aws/call.js';
import { AwsCallError, awsErrorKind } from '../aws/errors.js';
import { sleepUnlessAborted, type Clock } from '../common/clock.js';
import { KclError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { sendArgs } from '../aws/call-signal.js';

export interface ConsumerRegistrationOptions {
  streamName: string;
  consumerName: string;
  /** Given: used as it is (checked to exist), nothing is registered. */
  consumerArn?: string;
  clock: Clock;
  logger: Logger;
  signal: AbortSignal;
  onCall?: (outcome: AwsCallOutcome) => void;
  /** How often a consumer still being created is looked at again, and for how long in all. */
  activePollMillis?: number;
  activeTimeoutMillis?: number;
}

const PERMISSIONS = 'kinesis:DescribeStreamSummary, kinesis:DescribeStreamConsumer, kinesis:RegisterStreamConsumer and kinesis:SubscribeToShard';

/** The ARN of an ACTIVE consumer for the stream; registers it if needed. */
export async function ensureStreamConsumer(kinesis: KinesisClient, options: ConsumerRegistrationOptions): Promise<string> {
  return new Registration(kinesis, options).run();
}

class Registration {
  private readonly subject: string;

  constructor(
    private readonly kinesis: KinesisClient,
    private readonly options: ConsumerRegistrationOptions,
  ) {
    this.subject = options.consumerArn ? `consumer ${options.consumerArn} (stream "${options.streamName}")` : `consumer "${options.consumerName}" of stream "${options.streamName}"`;
  }

  async run(): Promise<string> {
    const { consumerArn, streamName, consumerName, logger } = this.options;
    if (consumerArn) {
      try {
        await this.waitUntilActive(await this.describeByArn(consumerArn));
      } catch (err) {
        // Reading consumers is a separate permission from subscribing; without it the ARN is simply trusted.
        if (awsErrorKind(err) !== 'access-denied') throw err;
        logger.warn({ consumerArn }, 'cannot describe the configured fan-out consumer (no kinesis:DescribeStreamConsumer permission); using it as configured');
      }
      return consumerArn;
    }
    const summary = await this.call('DescribeStreamSummary', (abortSignal) => this.kinesis.send(...sendArgs(this.kinesis, new DescribeStreamSummaryCommand({ StreamName: streamName }), abortSignal)));
    const streamArn = summary.StreamDescriptionSummary?.StreamARN;
    if (!streamArn) throw new AwsCallError(`DescribeStreamSummary for stream "${streamName}" returned no StreamARN`, 'server');
    let consumer = await this.describeByName(streamArn);
    if (!consumer) {
      try {
        const out = await this.call('RegisterStreamConsumer', (abortSignal) => this.kinesis.send(...sendArgs(this.kinesis, new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: consumerName }), abortSignal)));
        consumer = out.Consumer && { ...out.Consumer, StreamARN: streamArn };
        logger.info({ consumerName, stream: streamName, consumerArn: consumer?.ConsumerARN }, `registered the enhanced fan-out consumer "${consumerName}" on stream "${streamName}"`);
      } catch (err) {
        // Another worker of the application registered it at the same moment.
        if (awsErrorKind(err) !== 'in-use') throw err;
        consumer = await this.describeByName(streamArn);
      }
    }
    if (!consumer?.ConsumerARN) throw new AwsCallError(`${this.subject}: registered, but the service does not describe it`, 'server');
    return this.waitUntilActive(consumer);
  }

  private call<T>(operation: string, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const { signal, onCall } = this.options;
    return callAws({ service: 'kinesis', operation, what: `${operation} for ${this.subject}`, deadlineMillis: AWS_DEADLINES.kinesisControl, signal, onOutcome: onCall }, send).catch(
      (err: unknown) => {
        throw this.explain(err, operation);
      },
    );
  }

  private async describeByArn(arn: string): Promise<ConsumerDescription | undefined> {
    const out = await this.call('DescribeStreamConsumer', (abortSignal) => this.kinesis.send(...sendArgs(this.kinesis, new DescribeStreamConsumerCommand({ ConsumerARN: arn }), abortSignal)));
    return out.ConsumerDescription;
  }

  private async describeByName(streamArn: string): Promise<ConsumerDescription | undefined> {
    try {
      const out = await this.call('DescribeStreamConsumer', (abortSignal) =>
        this.kinesis.send(...sendArgs(this.kinesis, new DescribeStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: this.options.consumerName }), abortSignal)),
      );
      return out.ConsumerDescription;
    } catch (err) {
      if (awsErrorKind(err) === 'not-found') return undefined;
      throw err;
    }
  }

  /** A consumer being created becomes ACTIVE within seconds; one being deleted never will. */
  private async waitUntilActive(first: ConsumerDescription | undefined): Promise<string> {
    const { clock, signal } = this.options;
    const pollMillis = this.options.activePollMillis ?? 500;
    const deadline = clock.now() + (this.options.activeTimeoutMillis ?? 60_000);
    let consumer = first;
    for (;;) {
      const arn = consumer?.ConsumerARN;
      if (!consumer || !arn) throw new AwsCallError(`${this.subject}: the service does not describe it`, 'server');
      if (consumer.ConsumerStatus === 'ACTIVE') return arn;
      if (consumer.ConsumerStatus === 'DELETING') {
        throw new KclError(`${this.subject} is being deleted; wait until it is gone (a new one is then registered), or set another fanoutConfig.consumerName`, { retriable: true });
      }
      if (clock.now() >= deadline) throw new KclError(`${this.subject} is still ${consumer.ConsumerStatus ?? 'not ACTIVE'}; giving up waiting for it`, { retriable: true });
      if (!(await sleepUnlessAborted(clock, pollMillis, signal))) throw new KclError(`stopped while waiting for ${this.subject} to become ACTIVE`);
      consumer = await this.describeByArn(arn);
    }
  }

  /** The failure in the terms an operator acts on: which consumer, which stream, what to grant or change. */
  private explain(err: unknown, operation: string): unknown {
    const kind = awsErrorKind(err);
    const cause = err instanceof Error ? err.message : String(err);
    const { streamName } = this.options;
    if (kind === 'access-denied') {
      return new AwsCallError(
        `enhanced fan-out: ${operation} for ${this.subject} is not allowed (${cause}). Grant ${PERMISSIONS} on the stream and its consumers, or read by polling (retrievalMode = POLLING)`,
        kind,
        { cause: err },
      );
    }
    if (kind === 'not-found' && operation === 'DescribeStreamSummary') {
      return new AwsCallError(`enhanced fan-out: stream "${streamName}" does not exist (${cause})`, kind, { cause: err });
    }
    if (kind === 'not-found' && this.options.consumerArn) {
      return new AwsCallError(`enhanced fan-out: the configured fanoutConfig.consumerArn ${this.options.consumerArn} does not exist (${cause})`, kind, { cause: err });
    }
    if (kind === 'throttled' && operation === 'RegisterStreamConsumer') {
      return new AwsCallError(
        `enhanced fan-out: cannot register ${this.subject} yet (${cause}); a stream has at most 20 consumers and registrations are rate-limited`,
        kind,
        { cause: err },
      );
    }
    return err;
  }
}
