/**
 * GetRecords has a long deadline (30 s, as the Java KCL) so that a big answer on a slow link is not thrown away
 * and fetched again, while a connection that goes silent is dropped after the Kinesis client's silence limit
 * (src/aws/call.ts, src/aws/clients.ts). The far end is a real HTTP server on loopback speaking Kinesis's JSON
 * protocol; the limits are scaled down so the test takes seconds.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { GetRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { createKinesisClient } from '../../src/aws/clients.js';
import { callAws } from '../../src/aws/call.js';
import { sendArgs } from '../../src/aws/call-signal.js';
import { awsErrorKind } from '../../src/aws/errors.js';
import { startLoopbackServer, type LoopbackServer } from '../helpers/loopback-server.js';

const SILENCE_LIMIT = 400;
const DEADLINE = 8_000;

/** Iterator "trickle": the answer comes a byte every 100 ms for about 2 s. "silent": no answer at all. */
function farEnd(body: Buffer, res: ServerResponse): void {
  const { ShardIterator } = JSON.parse(body.toString('utf8')) as { ShardIterator: string };
  if (ShardIterator === 'silent') return;
  const answer = Buffer.from(`${' '.repeat(20)}{"Records":[{"SequenceNumber":"1","Data":"aGVsbG8=","PartitionKey":"p"}],"NextShardIterator":"next","MillisBehindLatest":0}`);
  res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': answer.length });
  let at = 0;
  const timer = setInterval(() => {
    if (at < 20) res.write(answer.subarray(at, at + 1));
    else {
      clearInterval(timer);
      res.end(answer.subarray(at));
    }
    at += 1;
  }, 100);
  res.on('close', () => clearInterval(timer));
}

describe('slow and silent Kinesis answers', () => {
  let far: LoopbackServer;
  let kinesis: KinesisClient;
  before(async () => {
    far = await startLoopbackServer((body, _req, res) => farEnd(body, res));
    kinesis = createKinesisClient({ kinesisEndpoint: far.endpoint, kinesisProtocol: 'JSON', silenceLimitMillis: SILENCE_LIMIT });
  });
  after(async () => {
    kinesis.destroy();
    await far.stop();
  });

  const getRecords = (iterator: string) =>
    callAws({ service: 'kinesis', operation: 'GetRecords', what: `GetRecords ${iterator}`, deadlineMillis: DEADLINE }, (abortSignal) =>
      kinesis.send(...sendArgs(kinesis, new GetRecordsCommand({ ShardIterator: iterator }), abortSignal)),
    );

  test('an answer still arriving after the silence limit is read to the end', async () => {
    const started = performance.now();
    const out = await getRecords('trickle');
    const took = performance.now() - started;
    assert.ok(took > 4 * SILENCE_LIMIT, `the answer took ${took} ms, longer than the silence limit`);
    assert.equal(out.Records?.length, 1);
    assert.equal(Buffer.from(out.Records![0]!.Data!).toString(), 'hello');
    assert.equal(out.NextShardIterator, 'next');
  });

  test('a silent connection fails as a timeout at the silence limit, long before the deadline', async () => {
    const started = performance.now();
    const err = await getRecords('silent').catch((e: unknown) => e);
    const took = performance.now() - started;
    assert.equal(awsErrorKind(err), 'timeout', String(err));
    assert.ok(took >= SILENCE_LIMIT - 50 && took < DEADLINE / 2, `failed after ${took} ms`);
  });
});
