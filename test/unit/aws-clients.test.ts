/**
 * The SDK clients we build (src/aws/clients.ts) skip the SDK's per-call logging step (it redacts every call's
 * input and output for an info line we drop) but still pass the SDK's warnings to our logger.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCloudWatchClient, createDynamoDBClient, createKinesisClient, createKinesisSubscriptionClient } from '../../src/aws/clients.js';
import type { Logger } from '../../src/common/logger.js';

function capturingLogger(lines: string[]): Logger {
  const log = (obj: unknown, msg?: string) => lines.push(typeof obj === 'string' ? obj : String(msg));
  const logger: Logger = { debug: log, info: log, warn: log, error: log, child: () => logger };
  return logger;
}

test('no per-call logging step; SDK warnings still reach our logger', () => {
  const warnings: string[] = [];
  const options = { kinesisEndpoint: 'http://127.0.0.1:1', dynamoDBEndpoint: 'http://127.0.0.1:2', cloudWatchEndpoint: 'http://127.0.0.1:3', logger: capturingLogger(warnings) };
  const clients = [createKinesisClient(options), createKinesisSubscriptionClient(options), createDynamoDBClient(options), createCloudWatchClient(options)];
  try {
    for (const client of clients) {
      const steps = client.middlewareStack.identify();
      assert.ok(steps.some((s) => s.startsWith('httpSigningMiddleware')), 'the stack is the SDK one');
      assert.ok(!steps.some((s) => s.startsWith('loggerMiddleware')), steps.join(', '));
      (client.config.logger as { warn(m: string): void }).warn('socket usage is high');
    }
    assert.deepEqual(warnings, Array(clients.length).fill('socket usage is high'));
  } finally {
    for (const client of clients) client.destroy();
  }
});
