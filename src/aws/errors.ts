/**
 * AWS errors are classified once, here, into kinds that call sites switch on and into the library's error
 * family (whose `retriable` flag the one retry policy reads); nothing else inspects SDK error names.
 */
import { InvalidStateException, KclError, KinesisClientLibDependencyException, ThrottlingException } from '../common/errors.js';

/**
 * What went wrong with a call, as a caller acts on it:
 * - `throttled`, `timeout` (no answer within the call's deadline), `unreachable` (refused, reset, DNS),
 *   `server` (5xx) and `other` (unknown) are worth another attempt;
 * - `expired-iterator`, `not-found`, `in-use` and `conditional-check-failed` are answers the caller handles;
 * - `access-denied` and `invalid` (a request the service will never accept) are fatal for that call;
 * - `aborted`: the caller's own stop signal ended it.
 */
export type AwsErrorKind =
  | 'throttled'
  | 'timeout'
  | 'unreachable'
  | 'server'
  | 'other'
  | 'expired-iterator'
  | 'not-found'
  | 'in-use'
  | 'conditional-check-failed'
  | 'access-denied'
  | 'invalid'
  | 'aborted';

const RETRIABLE_KINDS: ReadonlySet<AwsErrorKind> = new Set(['throttled', 'timeout', 'unreachable', 'server', 'other']);

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'RequestLimitExceeded',
  'LimitExceededException',
  'KMSThrottlingException',
  'TooManyRequestsException',
]);

const ACCESS_DENIED = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'KMSAccessDeniedException',
  'MissingAuthenticationTokenException',
]);

const INVALID = new Set(['ValidationException', 'InvalidArgumentException', 'SerializationException', 'KMSInvalidStateException']);

/** Socket-level failures: the endpoint is wrong, down or unreachable. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT']);

/** A library error that came from an AWS call carries its kind. */
export class AwsCallError extends KinesisClientLibDependencyException {
  constructor(
    message: string,
    readonly kind: AwsErrorKind,
    options: { cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause, retriable: RETRIABLE_KINDS.has(kind) });
    // Processors (and the daemon's children) match on the Java name; the kind is for our own call sites.
    this.name = 'KinesisClientLibDependencyException';
  }
}

function field(err: unknown, name: string): unknown {
  return err && typeof err === 'object' && name in err ? (err as Record<string, unknown>)[name] : undefined;
}

export function awsErrorName(err: unknown): string | undefined {
  const name = field(err, 'name');
  return typeof name === 'string' ? name : undefined;
}

/** The kind of an SDK error, or of a library error made from one (its cause is consulted). */
export function awsErrorKind(err: unknown): AwsErrorKind {
  if (err instanceof AwsCallError) return err.kind;
  if (err instanceof ThrottlingException) return 'throttled';
  if (err instanceof KclError && err.cause !== undefined) return awsErrorKind(err.cause);
  const name = awsErrorName(err) ?? '';
  const code = field(err, 'code');
  if (THROTTLING.has(name)) return 'throttled';
  if (name === 'ConditionalCheckFailedException') return 'conditional-check-failed';
  if (name === 'ExpiredIteratorException') return 'expired-iterator';
  if (name === 'ResourceNotFoundException') return 'not-found';
  if (name === 'ResourceInUseException') return 'in-use';
  if (ACCESS_DENIED.has(name)) return 'access-denied';
  if (INVALID.has(name)) return 'invalid';
  if (name === 'AbortError') return 'aborted';
  // Before the name: the SDK's handler renames a reset or refused socket's error to TimeoutError.
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return 'unreachable';
  if (name === 'TimeoutError' || (typeof code === 'string' && TIMEOUT_CODES.has(code))) return 'timeout';
  const metadata = field(err, '$metadata');
  const status = field(metadata, 'httpStatusCode');
  if (typeof status === 'number' && status >= 500) return 'server';
  if (name === 'InternalFailure' || name === 'InternalServerError' || name === 'ServiceUnavailable' || name === 'ServiceUnavailableException') return 'server';
  return 'other';
}

/**
 * Maps an SDK error to the library's family: ThrottlingException, InvalidStateException (not found), or an
 * AwsCallError (a KinesisClientLibDependencyException, retriable by kind). `what` names the call for the message.
 */
export function classifyAwsError(err: unknown, what: string): KclError {
  if (err instanceof KclError) return err;
  const kind = awsErrorKind(err);
  const name = awsErrorName(err) ?? 'Error';
  const detail = err instanceof Error ? err.message : String(err);
  switch (kind) {
    case 'throttled':
      return new ThrottlingException(`${what}: throttled (${name}: ${detail})`, { cause: err });
    case 'not-found':
      return new InvalidStateException(`${what}: ${name}: ${detail}`, { cause: err });
    case 'unreachable':
      return new AwsCallError(`${what}: cannot reach the service (${detail}); check the endpoint and that it is running`, kind, { cause: err });
    case 'timeout':
      return new AwsCallError(`${what}: no answer in time (${detail})`, kind, { cause: err });
    case 'access-denied':
      return new AwsCallError(`${what}: not allowed (${name}: ${detail}); check the credentials and the IAM permissions`, kind, { cause: err });
    default:
      return new AwsCallError(`${what}: ${name}: ${detail}`, kind, { cause: err });
  }
}
