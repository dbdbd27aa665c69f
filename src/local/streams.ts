/**
 * This file owns stream set-up and tear-down for local mode, the demo and the tests: create-if-missing and
 * wait for ACTIVE, delete-if-present and wait until gone. Every wait polls with a deadline and an AbortSignal.
 */
import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamSummaryCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { AWS_DEADLINES, callAws } from '../aws/call.js';
import { awsErrorKind } from '../aws/errors.js';
import { systemClock } from '../common/clock.js';
import { retry, RETRY } from '../common/retry.js';
import { sendArgs } from '../aws/call-signal.js';

const POLL_MILLIS = 100;
const WAIT_MILLIS = 30_000;

/** One control-plane call, with its deadline and the retry policy (a dropped connection is retried). */
function control<T>(operation: string, name: string, signal: AbortSignal | undefined, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
  const call = () => callAws({ service: 'kinesis', operation, what: `${operation} ${name}`, deadlineMillis: AWS_DEADLINES.kinesisControl, signal }, send);
  return retry(call, { policy: RETRY.shardList, clock: systemClock, signal });
}

/**
 * Creates `name` with `shards` shards unless it exists, then waits until it is ACTIVE (poll every 100 ms, give up
 * after 30 s). An existing stream is left as it is, whatever its shard count: callers that need an exact count
 * use a fresh name.
 */
export async function ensureStream(kinesis: KinesisClient, name: string, shards: number, signal?: AbortSignal): Promise<void> {
  if (!Number.isInteger(shards) || shards <= 0) throw new Error(`stream ${name}: shard count must be a positive integer, got ${shards}`);
  const deadline = systemClock.now() + WAIT_MILLIS;
  let lastStatus = 'unknown';
  for (;;) {
    signal?.throwIfAborted();
    try {
      await control('CreateStream', name, signal, (abortSignal) => kinesis.send(...sendArgs(kinesis, new CreateStreamCommand({ StreamName: name, ShardCount: shards }), abortSignal)));
    } catch (err) {
      // ResourceInUseException: the stream exists (or is still being created/deleted); the wait below decides.
      if (awsErrorKind(err) !== 'in-use') throw err;
    }
    // Wait for ACTIVE. A stream that is DELETING vanishes (ResourceNotFound) and is then created again above.
    for (;;) {
      signal?.throwIfAborted();
      let status: string | undefined;
      try {
        const out = await control('DescribeStreamSummary', name, signal, (abortSignal) => kinesis.send(...sendArgs(kinesis, new DescribeStreamSummaryCommand({ StreamName: name }), abortSignal)));
        status = out.StreamDescriptionSummary?.StreamStatus;
      } catch (err) {
        if (awsErrorKind(err) !== 'not-found') throw err;
        status = undefined;
      }
      if (status === 'ACTIVE') return;
      lastStatus = status ?? 'absent';
      if (systemClock.now() > deadline) {
        throw new Error(`stream ${name} did not become ACTIVE within ${WAIT_MILLIS / 1000} s (last status: ${lastStatus})`);
      }
      await systemClock.sleep(POLL_MILLIS, signal);
      if (status === undefined) break; // gone: go round and create it
    }
  }
}

/** Deletes `name` (and its enhanced fan-out consumers) if it exists, and waits until it is gone (bounded, 30 s). */
export async function deleteStreamIfExists(kinesis: KinesisClient, name: string, signal?: AbortSignal): Promise<void> {
  try {
    await control('DeleteStream', name, signal, (abortSignal) => kinesis.send(...sendArgs(kinesis, new DeleteStreamCommand({ StreamName: name, EnforceConsumerDeletion: true }), abortSignal)));
  } catch (err) {
    if (awsErrorKind(err) === 'not-found') return;
    // ResourceInUseException: already being deleted (or still creating); the wait below settles it.
    if (awsErrorKind(err) !== 'in-use') throw err;
  }
  const deadline = systemClock.now() + WAIT_MILLIS;
  for (;;) {
    signal?.throwIfAborted();
    try {
      await control('DescribeStreamSummary', name, signal, (abortSignal) => kinesis.send(...sendArgs(kinesis, new DescribeStreamSummaryCommand({ StreamName: name }), abortSignal)));
    } catch (err) {
      if (awsErrorKind(err) === 'not-found') return;
      throw err;
    }
    if (systemClock.now() > deadline) throw new Error(`stream ${name} was not deleted within ${WAIT_MILLIS / 1000} s`);
    await systemClock.sleep(POLL_MILLIS, signal);
  }
}
