/**
 * Every call to AWS goes through `callAws`: it has a deadline, it stops when the caller stops, and its failure
 * arrives classified (aws/errors.ts). A call that has not answered by its deadline is aborted — the SDK's
 * handler destroys its connection, so a connection that went silent (a black-holed route, a half-open socket
 * after a NAT forgot the flow) is never used again — and fails with kind `timeout`, so the loop that made it
 * goes on.
 *
 * Deadlines are by purpose (AWS_DEADLINES): a lease write must land within the renewal period for its
 * answer to matter, so the lease table takes its own from the failover time.
 */
import { AwsCallError, awsErrorKind, classifyAwsError } from './errors.js';
import type { KclError } from '../common/errors.js';

/** Milliseconds, by purpose. */
export const AWS_DEADLINES = {
  /**
   * GetRecords: as the Java KCL's `kinesisRequestTimeout`. Up to 10 MB, which AWS serves in well under a second
   * but a slow link may take many seconds to carry; a connection that goes silent is dropped sooner, after
   * KINESIS_SILENCE_MILLIS without a byte (the Kinesis client's `socketTimeout`, aws/clients.ts).
   */
  getRecords: 30_000,
  /** GetShardIterator, ListShards, DescribeStreamSummary and the like. */
  kinesisControl: 10_000,
  /** PutRecords (the producer). */
  putRecords: 15_000,
  /** DynamoDB reads of one item or one page. */
  dynamoRead: 5_000,
  /** DescribeTable, CreateTable. */
  dynamoAdmin: 10_000,
  /** PutMetricData: at most 1 MB; off the record path, so a slow CloudWatch only delays metrics. */
  putMetricData: 10_000,
} as const;

/** A Kinesis call whose connection carries nothing for this long fails with kind `timeout` (aws/clients.ts). */
export const KINESIS_SILENCE_MILLIS = 10_000;

/** The services the library calls. */
export type AwsService = 'kinesis' | 'dynamodb' | 'cloudwatch';

/** What a call reports when it ends, for whoever watches the calls (metrics, health). */
export interface AwsCallOutcome {
  readonly service: AwsService;
  readonly operation: string;
  /** The shard the call was for, where there is one (GetRecords, GetShardIterator). */
  readonly shardId?: string;
  /** What the call was for, where the caller says (the lease table: renew, take, checkpoint, scan, ...). */
  readonly purpose?: string;
  /** 'ok', or the error's kind. */
  readonly outcome: 'ok' | ReturnType<typeof awsErrorKind>;
  readonly millis: number;
}

export interface AwsCallOptions {
  readonly service: AwsService;
  /** The API operation, e.g. "UpdateItem". */
  readonly operation: string;
  /** The shard the call is for (reported with the outcome). */
  readonly shardId?: string;
  /** What the call is for (reported with the outcome). */
  readonly purpose?: string;
  /** Names the call in an error message, e.g. "renew lease shardId-0001 in table app". */
  readonly what: string;
  readonly deadlineMillis: number;
  /** The caller's stop: aborts the call at once. */
  readonly signal?: AbortSignal;
  readonly onOutcome?: (outcome: AwsCallOutcome) => void;
}

/**
 * Runs `send` (an SDK call: `client.send(...sendArgs(client, command, abortSignal))`, aws/call-signal.ts) under a
 * deadline. Resolves with its result or rejects with a classified KclError; `err.kind === 'aborted'` when the
 * caller's signal ended it.
 */
export async function callAws<T>(options: AwsCallOptions, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`no answer within ${options.deadlineMillis} ms`));
  }, options.deadlineMillis);
  const stop = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) stop();
  else options.signal?.addEventListener('abort', stop, { once: true });
  const started = performance.now();
  const report = (outcome: AwsCallOutcome['outcome']) => options.onOutcome?.({
      service: options.service,
      operation: options.operation,
      ...(options.shardId === undefined ? {} : { shardId: options.shardId }),
      purpose: options.purpose,
      outcome,
      millis: performance.now() - started,
    });
  try {
    const result = await send(controller.signal);
    report('ok');
    return result;
  } catch (err) {
    let error: KclError;
    if (timedOut) error = new AwsCallError(`${options.what}: no answer within ${options.deadlineMillis} ms; the connection was dropped`, 'timeout', { cause: err });
    else if (options.signal?.aborted) error = new AwsCallError(`${options.what}: stopped`, 'aborted', { cause: err });
    else error = classifyAwsError(err, options.what);
    report(awsErrorKind(error));
    throw error;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', stop);
  }
}
