/**
 * The MultiLangDaemon: a Worker whose record processors are child processes (one per shard lease) speaking
 * the multi-language protocol. Reads the same `.properties` keys as the Java daemon: the core's into the worker's
 * KclConfig, its own (daemon-config.ts) into a DaemonConfig.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConfigError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { KclConfig } from '../config/config.js';
import { Worker } from '../worker/worker.js';
import { DEFAULT_SHUTDOWN_GRACE_MILLIS, type DaemonConfig } from './daemon-config.js';
import { MultiLangRecordProcessor, splitExecutable } from './daemon-processor.js';

export interface MultiLangDaemonOptions {
  config: KclConfig;
  /** The daemon's own keys (executableName, timeoutInSeconds, shutdownGraceMillis). */
  daemon: DaemonConfig;
  logger: Logger;
  /** Where children's stderr lines are relayed (default: the daemon's stderr). */
  childStderr?: Writable;
  /** Children's environment (default: the daemon's own, as the Java daemon does). */
  childEnv?: NodeJS.ProcessEnv;
  /** Clients to use instead of ones built from the config. */
  kinesis?: KinesisClient;
  dynamodb?: DynamoDBClient;
}

/**
 * Resolves the executable like execvp: a name with a slash is relative to the working directory, any other
 * is searched on PATH. Fails with a ConfigError naming the key when it cannot be run, so a typo is reported at
 * start-up instead of as a crash loop per shard.
 */
export function checkExecutable(executableName: string | undefined, cwd = process.cwd(), envPath = process.env.PATH ?? ''): string {
  if (!executableName || !executableName.trim()) {
    throw new ConfigError('executableName: missing; expected the command that runs your record processor, e.g. "python3 app.py"', 'executableName');
  }
  const [program] = splitExecutable(executableName);
  if (!program) throw new ConfigError(`executableName: "${executableName}" names no program (it starts with a space?)`, 'executableName');
  const candidates = program.includes('/') ? [path.resolve(cwd, program)] : envPath.split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, program));
  for (const candidate of candidates) {
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  throw new ConfigError(
    program.includes('/')
      ? `executableName: "${program}" does not exist or is not executable (relative to ${cwd})`
      : `executableName: "${program}" was not found on PATH`,
    'executableName',
  );
}

export function createMultiLangWorker(options: MultiLangDaemonOptions): Worker {
  const { config, daemon, logger } = options;
  const { executableName } = daemon;
  checkExecutable(executableName);
  const grace = daemon.shutdownGraceMillis && daemon.shutdownGraceMillis > 0 ? daemon.shutdownGraceMillis : DEFAULT_SHUTDOWN_GRACE_MILLIS;
  return new Worker({
    config,
    logger,
    kinesis: options.kinesis,
    dynamodb: options.dynamodb,
    shutdownTimeoutMillis: grace,
    processorFactory: () =>
      new MultiLangRecordProcessor({
        executableName,
        timeoutInSeconds: daemon.timeoutInSeconds,
        logger,
        stderr: options.childStderr,
        env: options.childEnv,
      }),
  });
}
