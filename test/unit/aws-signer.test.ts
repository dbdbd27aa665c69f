/**
 * Every client we build signs with one reused SigV4 signer (src/aws/signer.ts) instead of the SDK's per-call one.
 * AWS refuses a request whose signature is wrong, and the emulators never check one, so a loopback server plays
 * AWS here: it checks each request's signature with an independent SigV4 computation (node:crypto, from the
 * request as received) for the expected key, region and service. Credentials rotate between calls, so a signer
 * that kept the first ones fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type http from 'node:http';
import { ListShardsCommand, SubscribeToShardCommand } from '@aws-sdk/client-kinesis';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { createCloudWatchClient, createDynamoDBClient, createKinesisClient, createKinesisSubscriptionClient } from '../../src/aws/clients.js';
import { startLoopbackServer } from '../helpers/loopback-server.js';

interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const sha256 = (data: string | Buffer) => crypto.createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => crypto.createHmac('sha256', key).update(data).digest();

/** What a SigV4 verifier finds in a request: the credential it names and whether its signature is right for `secret`. */
function verify(req: Received, secretFor: (accessKeyId: string) => string): { accessKeyId: string; region: string; service: string; valid: boolean; token?: string } {
  const auth = String(req.headers.authorization);
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth);
  assert.ok(m, `not a SigV4 Authorization header: ${auth}`);
  const [, accessKeyId, date, region, service, signedHeaders, signature] = m as unknown as string[];
  const amzDate = String(req.headers['x-amz-date']);
  assert.equal(amzDate.slice(0, 8), date);
  const [pathPart, query = ''] = req.path.split('?');
  const canonicalQuery = query
    .split('&')
    .filter(Boolean)
    .sort()
    .join('&');
  const names = signedHeaders!.split(';');
  const canonicalHeaders = names.map((n) => `${n}:${String(req.headers[n]).trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonicalRequest = [req.method, pathPart, canonicalQuery, canonicalHeaders, signedHeaders, sha256(req.body)].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secretFor(accessKeyId!)}`, date!), region!), service!), 'aws4_request');
  const token = req.headers['x-amz-security-token'] as string | undefined;
  if (token !== undefined) assert.ok(names.includes('x-amz-security-token'), 'the session token is signed');
  return { accessKeyId: accessKeyId!, region: region!, service: service!, valid: hmac(key, stringToSign).toString('hex') === signature, ...(token === undefined ? {} : { token }) };
}

/** A server that records each request and refuses it, as AWS would refuse a bad one: the signature is all these tests read. */
function refusingServer(received: Received[]) {
  return startLoopbackServer((body, req, res) => {
    received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
    res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
    res.end(JSON.stringify({ __type: 'ValidationException', message: 'refused by the test' }));
  });
}

test('every client signs each call with the current credentials, for its service and region', async () => {
  const received: Received[] = [];
  const server = await refusingServer(received);
  // A new key on every fetch; expiring soon, so the SDK fetches again for each call.
  let issued = 0;
  const secrets = new Map<string, string>();
  const credentials = async (): Promise<AwsCredentialIdentity> => {
    issued++;
    const identity = { accessKeyId: `AKID${issued}`, secretAccessKey: `secret-${issued}-${crypto.randomUUID()}`, sessionToken: `token-${issued}`, expiration: new Date(Date.now() + 60_000) };
    secrets.set(identity.accessKeyId, identity.secretAccessKey);
    return identity;
  };
  const options = { region: 'eu-west-2', kinesisEndpoint: server.endpoint, dynamoDBEndpoint: server.endpoint, cloudWatchEndpoint: server.endpoint, credentials };
  const kinesis = createKinesisClient(options);
  const subscriptions = createKinesisSubscriptionClient(options);
  const dynamodb = createDynamoDBClient(options);
  const cloudwatch = createCloudWatchClient(options);
  const calls: [string, () => Promise<unknown>][] = [
    ['kinesis', () => kinesis.send(new ListShardsCommand({ StreamName: 'stream-a' }))],
    ['kinesis', () => subscriptions.send(new SubscribeToShardCommand({ ConsumerARN: 'arn:aws:kinesis:eu-west-2:123456789012:stream/stream-a/consumer/c:1', ShardId: 'shardId-000000000000', StartingPosition: { Type: 'LATEST' } }))],
    ['dynamodb', () => dynamodb.send(new UpdateItemCommand({ TableName: 'leases', Key: { leaseKey: { S: 'shardId-000000000000' } }, UpdateExpression: 'SET leaseCounter = leaseCounter + :one', ExpressionAttributeValues: { ':one': { N: '1' } } }))],
    ['monitoring', () => cloudwatch.send(new PutMetricDataCommand({ Namespace: 'app', MetricData: [{ MetricName: 'RecordsProcessed', Value: 1 }] }))],
  ];
  try {
    for (const round of [1, 2]) {
      for (const [service, call] of calls) {
        const before = received.length;
        await assert.rejects(call());
        assert.equal(received.length, before + 1, `${service}: one request in round ${round}`);
        const seen = verify(received[before]!, (id) => secrets.get(id) ?? 'unknown key');
        assert.equal(seen.service, service);
        assert.equal(seen.region, 'eu-west-2');
        assert.ok(seen.valid, `${service}, round ${round}: the signature does not verify for ${seen.accessKeyId}`);
        // The key is the one issued for this call: a signer that cached credentials would still sign with an old one.
        assert.equal(seen.accessKeyId, `AKID${issued}`, `${service}, round ${round}`);
        assert.equal(seen.token, `token-${issued}`);
      }
    }
    assert.ok(issued >= calls.length * 2, `credentials fetched ${issued} times`);
  } finally {
    for (const client of [kinesis, subscriptions, dynamodb, cloudwatch]) client.destroy();
    await server.stop();
  }
});

test('a signature made with the wrong secret does not verify (the check above can fail)', async () => {
  const received: Received[] = [];
  const server = await refusingServer(received);
  const dynamodb = createDynamoDBClient({ region: 'eu-west-2', dynamoDBEndpoint: server.endpoint, credentials: { accessKeyId: 'AKID', secretAccessKey: 'right' } });
  try {
    await assert.rejects(dynamodb.send(new UpdateItemCommand({ TableName: 'leases', Key: { leaseKey: { S: 'k' } } })));
    assert.equal(verify(received[0]!, () => 'right').valid, true);
    assert.equal(verify(received[0]!, () => 'wrong').valid, false);
    // A changed body breaks it too.
    assert.equal(verify({ ...received[0]!, body: Buffer.concat([received[0]!.body, Buffer.from(' ')]) }, () => 'right').valid, false);
  } finally {
    dynamodb.destroy();
    await server.stop();
  }
});
