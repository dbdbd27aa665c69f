/**
 * One error family for the whole library. Every error we raise is a KclError with a `retriable` flag, so a
 * single retry policy can decide what to do; the names of the checkpoint errors are the Java KCL's, because
 * processors (and the multi-language protocol) match on them.
 */

export class KclError extends Error {
  readonly retriable: boolean;
  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/** One bad configuration value: the key and a message naming the key, the value and what is allowed. */
export interface ConfigProblem {
  readonly key: string | undefined;
  readonly message: string;
}

/**
 * A configuration value or file is wrong. Names the key, the value and what is allowed; when several values are
 * wrong, `problems` lists each (one per line of the message) and `key` is the first one's.
 */
export class ConfigError extends KclError {
  readonly key: string | undefined;
  readonly problems: readonly ConfigProblem[];
  constructor(message: string, key?: string, problems?: readonly ConfigProblem[]) {
    super(message);
    this.key = key;
    this.problems = problems ?? [{ key, message }];
  }

  static fromProblems(problems: readonly ConfigProblem[]): ConfigError {
    return new ConfigError(problems.map((p) => p.message).join('\n'), problems[0]?.key, problems);
  }

  /** The same error with every line prefixed by the file it came from. */
  inFile(path: string): ConfigError {
    return ConfigError.fromProblems(this.problems.map((p) => ({ key: p.key, message: `${path}: ${p.message}` })));
  }
}

/** The lease is no longer held by this worker (lost, expired locally, or re-acquired since). */
export class ShutdownException extends KclError {}

/** DynamoDB or Kinesis throttled the call; back off and try again. */
export class ThrottlingException extends KclError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { retriable: true, cause: options.cause });
  }
}

/** The lease table (or another resource) is missing or in a state the call cannot proceed from. */
export class InvalidStateException extends KclError {}

/** Any other failure of a service we depend on (network, 5xx, SDK error); back off and retry. */
export class KinesisClientLibDependencyException extends KclError {
  constructor(message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, { retriable: options.retriable ?? true, cause: options.cause });
  }
}

/** The Java KCL throws `IllegalArgumentException`; this keeps that name for processors matching on it. */
export class IllegalArgumentException extends KclError {}

/**
 * Thrown by a record processor that can no longer serve its shard (for instance its child process died or
 * stopped answering). The worker discards that processor and, after a backoff, starts a fresh one for the
 * same lease from the last checkpoint; the other shards are not affected.
 */
export class ProcessorFailedException extends KclError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { retriable: true, cause: options.cause });
  }
}

/** Anything thrown, as an Error (a thrown string or object becomes the message). */
export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
