/**
 * callAws: a call that does not answer by its deadline is aborted (so the SDK drops its connection) and fails
 * with kind `timeout`; the caller's stop aborts it with kind `aborted`; SDK errors arrive classified.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { callAws, type AwsCallOutcome } from '../../src/aws/call.js';
import { awsErrorKind, classifyAwsError } from '../../src/aws/errors.js';
import { InvalidStateException, ThrottlingException } from '../../src/common/errors.js';

/** Like an SDK send that never answers: it settles only when its abort signal fires (as the SDK's handler does). */
function hanging(abortSignal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => abortSignal.addEventListener('abort', () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' })), { once: true }));
}

function sdkError(name: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} happened`), { name, ...extra });
}

describe('callAws', () => {
  test('a call with no answer fails at its deadline, with kind timeout, and says which call', async () => {
    const outcomes: AwsCallOutcome[] = [];
    const started = Date.now();
    const err = await callAws({ service: 'dynamodb', operation: 'UpdateItem', what: 'renew lease s0', deadlineMillis: 50, onOutcome: (o) => outcomes.push(o) }, hanging).catch((e: unknown) => e);
    assert.ok(Date.now() - started < 1_000);
    assert.equal(awsErrorKind(err), 'timeout');
    assert.match(String(err), /renew lease s0: no answer within 50 ms/);
    assert.equal((err as { retriable: boolean }).retriable, true);
    assert.deepEqual(outcomes.map((o) => [o.service, o.operation, o.outcome]), [['dynamodb', 'UpdateItem', 'timeout']]);
  });

  test("the caller's stop aborts the call at once, with kind aborted (not retried)", async () => {
    const stop = new AbortController();
    const call = callAws({ service: 'kinesis', operation: 'GetRecords', what: 'GetRecords s0', deadlineMillis: 60_000, signal: stop.signal }, hanging);
    stop.abort();
    const err = await call.catch((e: unknown) => e);
    assert.equal(awsErrorKind(err), 'aborted');
    assert.equal((err as { retriable: boolean }).retriable, false);
  });

  test('an answer before the deadline is returned and reported ok', async () => {
    const outcomes: AwsCallOutcome[] = [];
    const value = await callAws({ service: 'kinesis', operation: 'ListShards', what: 'ListShards s', deadlineMillis: 1_000, onOutcome: (o) => outcomes.push(o) }, async () => 42);
    assert.equal(value, 42);
    assert.equal(outcomes[0]?.outcome, 'ok');
  });
});

describe('AWS error kinds', () => {
  const cases: [string, Error, string, boolean][] = [
    ['throttling', sdkError('ProvisionedThroughputExceededException'), 'throttled', true],
    ['Kinesis rate limit', sdkError('LimitExceededException'), 'throttled', true],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'unreachable', true],
    ['a reset connection', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'unreachable', true],
    ["the handler's timeout", sdkError('TimeoutError'), 'timeout', true],
    ['a 5xx', sdkError('InternalServerError', { $metadata: { httpStatusCode: 500 } }), 'server', true],
    ['an expired iterator', sdkError('ExpiredIteratorException'), 'expired-iterator', false],
    ['a missing table or stream', sdkError('ResourceNotFoundException'), 'not-found', false],
    ['a failed condition', sdkError('ConditionalCheckFailedException'), 'conditional-check-failed', false],
    ['missing permissions', sdkError('AccessDeniedException'), 'access-denied', false],
    ['a request AWS will never accept', sdkError('ValidationException'), 'invalid', false],
    ['something unknown', sdkError('WeirdNewException'), 'other', true],
  ];
  for (const [what, error, kind, retriable] of cases) {
    test(`${what} is ${kind}${retriable ? ', retriable' : ''}`, () => {
      assert.equal(awsErrorKind(error), kind);
      const classified = classifyAwsError(error, 'SomeCall');
      assert.equal(classified.retriable, retriable);
      assert.equal(awsErrorKind(classified), kind, 'the kind survives classification');
      assert.match(classified.message, /^SomeCall: /);
    });
  }

  test('throttling and not-found become the Java-named classes processors catch', () => {
    assert.ok(classifyAwsError(sdkError('ThrottlingException'), 'x') instanceof ThrottlingException);
    assert.ok(classifyAwsError(sdkError('ResourceNotFoundException'), 'x') instanceof InvalidStateException);
    assert.equal(classifyAwsError(sdkError('InternalFailure'), 'x').name, 'KinesisClientLibDependencyException');
  });
});
