/**
 * Shared set-up for integration tests: the emulator endpoints started once per run by scripts/run-tests.mjs,
 * unique names per test, SDK clients, and a poll-until helper (tests wait on conditions, never on fixed sleeps).
 */
import { randomUUID } from 'node:crypto';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDBClient, createKinesisClient } from '../../src/aws/clients.js';
import { ensureStream } from '../../src/local/streams.js';
import type { KclConfigInput } from '../../src/config/config.js';
import type { KinesisProtocol } from '../../src/config/fields.js';

export interface TestEnv {
  kinesisEndpoint: string;
  dynamodbEndpoint: string;
  kinesis: KinesisClient;
  dynamodb: DynamoDBClient;
  /** A Kinesis client speaking the given wire protocol (made once, closed with the rest). */
  kinesisFor(protocol: KinesisProtocol): KinesisClient;
  close(): void;
}

/** Undefined when the run was not started by scripts/run-tests.mjs (tests then skip with a message). */
export function testEnv(): TestEnv | undefined {
  const kinesisEndpoint = process.env.KCL_TEST_KINESIS_ENDPOINT;
  const dynamodbEndpoint = process.env.KCL_TEST_DYNAMODB_ENDPOINT;
  if (!kinesisEndpoint || !dynamodbEndpoint) return undefined;
  const kinesis = createKinesisClient({ kinesisEndpoint });
  const dynamodb = createDynamoDBClient({ dynamoDBEndpoint: dynamodbEndpoint });
  const byProtocol = new Map<KinesisProtocol, KinesisClient>();
  return {
    kinesisEndpoint,
    dynamodbEndpoint,
    kinesis,
    dynamodb,
    kinesisFor: (kinesisProtocol) => {
      let client = byProtocol.get(kinesisProtocol);
      if (!client) byProtocol.set(kinesisProtocol, (client = createKinesisClient({ kinesisEndpoint, kinesisProtocol })));
      return client;
    },
    close: () => {
      kinesis.destroy();
      dynamodb.destroy();
      for (const client of byProtocol.values()) client.destroy();
    },
  };
}

export const SKIP_REASON = 'needs the emulators: run through `npm test` (scripts/run-tests.mjs)';

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** A stream of `shards` shards, created for this test. */
export async function createTestStream(env: TestEnv, prefix: string, shards: number): Promise<string> {
  const name = uniqueName(prefix);
  await ensureStream(env.kinesis, name, shards);
  return name;
}

/** Config for a worker against the test emulators, fast enough for tests. */
export function workerConfig(env: TestEnv, streamName: string, applicationName: string, extra: Partial<KclConfigInput> = {}): KclConfigInput {
  return {
    streamName,
    applicationName,
    kinesisEndpoint: env.kinesisEndpoint,
    dynamoDBEndpoint: env.dynamodbEndpoint,
    initialPositionInStream: 'TRIM_HORIZON',
    idleTimeBetweenReadsInMillis: 200,
    ...extra,
  };
}

/** Polls `check` until it returns a truthy value (returned) or the timeout passes (throws with `what`). */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMillis = 30_000, intervalMillis = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMillis;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMillis} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMillis));
  }
}
