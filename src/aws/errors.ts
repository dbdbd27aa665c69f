/**
 * AWS SDK errors are classified once, here, into the library's error family; nothing else inspects SDK
 * error names.
 */
import { InvalidStateException, KclError, KinesisClientLibDependencyException, ThrottlingException } from '../common/errors.js';

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'RequestLimitExceeded',
  'LimitExceededException',
  'KMSThrottlingException',
  'TooManyRequestsException',
]);

/** Socket-level failures: the endpoint is wrong, down or unreachable. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

export function awsErrorName(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'name' in err && typeof (err as { name: unknown }).name === 'string') {
    return (err as { name: string }).name;
  }
  return undefined;
}

export function isConditionalCheckFailed(err: unknown): boolean {
  return awsErrorName(err) === 'ConditionalCheckFailedException';
}

export function isThrottling(err: unknown): boolean {
  const name = awsErrorName(err);
  return name !== undefined && THROTTLING.has(name);
}

/** Maps an SDK error to ThrottlingException, InvalidStateException or KinesisClientLibDependencyException. */
export function classifyAwsError(err: unknown, what: string): KclError {
  if (err instanceof KclError) return err;
  const name = awsErrorName(err) ?? 'Error';
  const detail = err instanceof Error ? err.message : String(err);
  const code = err && typeof err === 'object' && 'code' in err ? (err as { code: unknown }).code : undefined;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) {
    return new KinesisClientLibDependencyException(`${what}: cannot reach the service (${detail}); check the endpoint and that it is running`, { cause: err });
  }
  if (isThrottling(err)) return new ThrottlingException(`${what}: throttled (${name}: ${detail})`, { cause: err });
  if (name === 'ResourceNotFoundException') return new InvalidStateException(`${what}: ${name}: ${detail}`, { cause: err });
  return new KinesisClientLibDependencyException(`${what}: ${name}: ${detail}`, { cause: err });
}
