/**
 * The clients built in src/aws/clients.ts send calls with no per-call options (their middleware stack is resolved
 * once per command class) and carry each call's abort signal on the command instead (src/aws/call-signal.ts).
 * What a user relies on is unchanged: a call with no answer is aborted at its deadline with its connection, the
 * caller's stop aborts it at once, concurrent calls each get their own answer, and the SDK retries nothing.
 * The far end is a real HTTP server on loopback speaking DynamoDB's JSON protocol.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoDBClient } from '../../src/aws/clients.js';
import { callAws } from '../../src/aws/call.js';
import { sendArgs } from '../../src/aws/call-signal.js';
import { awsErrorKind } from '../../src/aws/errors.js';
import { waitFor } from '../helpers/env.js';
import { startLoopbackServer, type LoopbackServer } from '../helpers/loopback-server.js';

/** Answers GetItem with an item echoing the key asked for; keys starting "silent" get no answer; "fail" a 500. */
class FakeDynamo {
  private far: LoopbackServer | undefined;
  requests = 0;
  readonly arrived = new Set<string>();
  closedUnanswered = 0;

  get endpoint(): string {
    return this.far!.endpoint;
  }

  async start(): Promise<void> {
    this.far = await startLoopbackServer((body, _req, res) => this.answer(body, res));
  }

  private answer(request: Buffer, res: ServerResponse): void {
    this.requests += 1;
    const body = JSON.parse(request.toString('utf8')) as { Key: { k: { S: string } } };
    const key = body.Key.k.S;
    this.arrived.add(key);
    if (key.startsWith('silent')) {
      res.on('close', () => (this.closedUnanswered += 1));
      return;
    }
    if (key.startsWith('fail')) {
      res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'boom' }));
      return;
    }
    // Answer out of order, so that concurrent calls overlap in flight.
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify({ Item: { k: { S: key } } }));
    }, Math.floor(Math.random() * 20));
  }

  async stop(): Promise<void> {
    await this.far?.stop();
  }
}

describe('signalled clients', () => {
  const far = new FakeDynamo();
  let client: DynamoDBClient;
  before(async () => {
    await far.start();
    client = createDynamoDBClient({ dynamoDBEndpoint: far.endpoint });
  });
  after(async () => {
    client.destroy();
    await far.stop();
  });

  const getItem = (key: string, deadlineMillis: number, signal?: AbortSignal) =>
    callAws({ service: 'dynamodb', operation: 'GetItem', what: `read ${key}`, deadlineMillis, ...(signal ? { signal } : {}) }, (abortSignal) =>
      client.send(...sendArgs(client, new GetItemCommand({ TableName: 'table', Key: { k: { S: key } } }), abortSignal)),
    );

  test('concurrent calls each get their own answer, and the caller\'s input is left as it was', async () => {
    const input = { TableName: 'table', Key: { k: { S: 'shared-input' } } };
    const command = new GetItemCommand(input);
    const [sent] = sendArgs(client, command, new AbortController().signal);
    assert.deepEqual(Object.getOwnPropertySymbols(input), [], 'the signal is not put on the caller\'s object');
    assert.equal(sent, command);
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    const answers = await Promise.all(keys.map((k) => getItem(k, 5_000)));
    assert.deepEqual(answers.map((a) => a.Item?.k?.S), keys);
  });

  test('a call with no answer is aborted at its deadline and its connection closed', async () => {
    const closedBefore = far.closedUnanswered;
    const started = performance.now();
    const err = await getItem('silent-1', 300).catch((e: unknown) => e);
    assert.equal(awsErrorKind(err), 'timeout', String(err));
    assert.ok(performance.now() - started < 5_000);
    await waitFor('the server to see the connection closed', () => far.closedUnanswered > closedBefore, 5_000, 10);
  });

  test("the caller's stop aborts a call at once", async () => {
    const stop = new AbortController();
    const closedBefore = far.closedUnanswered;
    const call = getItem('silent-2', 60_000, stop.signal);
    await waitFor('the request to arrive', () => far.arrived.has('silent-2'), 5_000, 10);
    assert.equal(far.closedUnanswered, closedBefore);
    stop.abort();
    const err = await call.catch((e: unknown) => e);
    assert.equal(awsErrorKind(err), 'aborted', String(err));
    await waitFor('the server to see the connection closed', () => far.closedUnanswered > closedBefore, 5_000, 10);
  });

  test('the SDK retries nothing: a 500 is one request, reported as a server error', async () => {
    const before = far.requests;
    const err = await getItem('fail-1', 5_000).catch((e: unknown) => e);
    assert.equal(awsErrorKind(err), 'server', String(err));
    assert.equal(far.requests - before, 1);
  });

  test('a client built elsewhere (a user\'s own) is sent the signal as an SDK option', () => {
    const plain = new DynamoDBClient({ region: 'us-east-1', endpoint: far.endpoint, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    try {
      const signal = new AbortController().signal;
      const command = new GetItemCommand({ TableName: 'table', Key: { k: { S: 'x' } } });
      const [sent, options] = sendArgs(plain, command, signal);
      assert.equal(sent, command);
      assert.equal(options?.abortSignal, signal);
      assert.deepEqual(Object.getOwnPropertySymbols(command.input), []);
    } finally {
      plain.destroy();
    }
  });
});
