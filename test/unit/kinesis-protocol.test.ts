/**
 * The Kinesis CBOR protocol (aws/kinesis-protocol.ts) and the body collector (aws/body-collector.ts), against an
 * in-memory request handler: what goes on the wire, and how answers (Kinesis', kinesalite's, a proxy's JSON
 * error) come back. Both wire protocols must give the same records and the same error names.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
  type _Record,
} from '@aws-sdk/client-kinesis';
import { cbor, tag } from '@smithy/core/cbor';
import { HttpResponse, type HttpRequest } from '@smithy/protocol-http';
import { CBOR_CONTENT_TYPE, epochToDate, KinesisCborProtocol } from '../../src/aws/kinesis-protocol.js';
import { collectBody } from '../../src/aws/body-collector.js';
import { awsErrorKind } from '../../src/aws/errors.js';
import { createKinesisClient } from '../../src/aws/clients.js';
import { defaultKinesisProtocol, KINESIS_PROTOCOLS, type KinesisProtocol } from '../../src/config/fields.js';
import { unpackRecords } from '../../src/retrieval/records.js';
import { buildConfig, configFromProperties } from '../../src/config/load.js';
import { parseProperties } from '../../src/config/properties.js';
import { silentLogger } from '../../src/common/logger.js';

interface Answer {
  status?: number;
  headers?: Record<string, string>;
  body: Uint8Array | string;
}

/** A client whose handler records each request and answers with `answer(request)`. */
function clientWith(protocol: KinesisProtocol, answer: (request: HttpRequest) => Answer): { client: KinesisClient; requests: HttpRequest[] } {
  const requests: HttpRequest[] = [];
  const client = createKinesisClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, kinesisProtocol: protocol });
  client.config.requestHandler = {
    handle: async (request: HttpRequest) => {
      requests.push(request);
      const a = answer(request);
      const body = typeof a.body === 'string' ? Buffer.from(a.body) : a.body;
      return { response: new HttpResponse({ statusCode: a.status ?? 200, headers: { 'content-length': String(body.length), ...a.headers }, body }) };
    },
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
  } as unknown as KinesisClient['config']['requestHandler'];
  return { client, requests };
}

const cborBody = (value: unknown) => cbor.serialize(value);
const cborAnswer = (value: unknown, status = 200): Answer => ({ status, headers: { 'content-type': CBOR_CONTENT_TYPE }, body: cborBody(value) });
const jsonAnswer = (value: unknown, status = 200): Answer => ({ status, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: JSON.stringify(value) });

const ARRIVAL = new Date('2026-05-04T03:02:01.123Z');

describe('Kinesis over CBOR', () => {
  test('a request is the awsJson1_1 call with a CBOR body: POST /, the target header, the CBOR content type', async () => {
    const { client, requests } = clientWith('CBOR', () => cborAnswer({ ShardIterator: 'it' }));
    const at = new Date('2026-01-02T03:04:05.678Z');
    await client.send(new GetShardIteratorCommand({ StreamName: 's', ShardId: 'shardId-000000000000', ShardIteratorType: 'AT_TIMESTAMP', Timestamp: at }));
    const request = requests[0]!;
    assert.equal(request.method, 'POST');
    assert.equal(request.path, '/');
    assert.equal(request.headers['content-type'], CBOR_CONTENT_TYPE);
    assert.equal(request.headers['x-amz-target'], 'Kinesis_20131202.GetShardIterator');
    const sent = cbor.deserialize(request.body as Uint8Array) as Record<string, unknown>;
    assert.equal(sent.StreamName, 's');
    assert.equal(sent.ShardIteratorType, 'AT_TIMESTAMP');
    // Kinesis' CBOR timestamps: tag 1 with epoch milliseconds (the Java SDK's format), not seconds.
    assert.deepEqual({ ...(sent.Timestamp as object) }, { ...tag({ tag: 1, value: at.getTime() }) });
  });

  test('the caller\'s input is not changed by the timestamp conversion', async () => {
    const { client } = clientWith('CBOR', () => cborAnswer({ ShardIterator: 'it' }));
    const input = { StreamName: 's', ShardId: 'x', ShardIteratorType: 'AT_TIMESTAMP' as const, Timestamp: new Date(1_000) };
    await client.send(new GetShardIteratorCommand(input));
    assert.ok(input.Timestamp instanceof Date);
    assert.equal(input.Timestamp.getTime(), 1_000);
  });

  test('an operation without input members still sends a CBOR map', async () => {
    const { client, requests } = clientWith('CBOR', () => cborAnswer({ Shards: [] }));
    await client.send(new ListShardsCommand({}));
    assert.deepEqual(cbor.deserialize(requests[0]!.body as Uint8Array), {});
  });

  test('PutRecords sends record data as raw bytes, empty and 1 MiB alike', async () => {
    const { client, requests } = clientWith('CBOR', () => cborAnswer({ FailedRecordCount: 0, Records: [{ SequenceNumber: '1', ShardId: 'x' }, { SequenceNumber: '2', ShardId: 'x' }] }));
    const big = Buffer.alloc(1024 * 1024, 0xab);
    await client.send(new PutRecordsCommand({ StreamName: 's', Records: [{ PartitionKey: 'a', Data: new Uint8Array(0) }, { PartitionKey: 'b', Data: big }] }));
    const sent = cbor.deserialize(requests[0]!.body as Uint8Array) as { Records: { Data: Uint8Array }[] };
    assert.equal(sent.Records[0]!.Data.byteLength, 0);
    assert.ok(Buffer.from(sent.Records[1]!.Data).equals(big));
  });

  test('GetRecords: data as Buffers (views, not copies), tag-1 milliseconds as Dates, other members as sent', async () => {
    const big = Buffer.alloc(1024 * 1024, 7);
    const { client } = clientWith('CBOR', () =>
      cborAnswer({
        Records: [
          { Data: new Uint8Array(0), PartitionKey: 'a', SequenceNumber: '1', ApproximateArrivalTimestamp: tag({ tag: 1, value: ARRIVAL.getTime() }) },
          { Data: big, PartitionKey: 'b', SequenceNumber: '2', ApproximateArrivalTimestamp: tag({ tag: 1, value: ARRIVAL.getTime() }), EncryptionType: 'KMS' },
        ],
        NextShardIterator: 'next',
        MillisBehindLatest: 0,
      }),
    );
    const out = await client.send(new GetRecordsCommand({ ShardIterator: 'it' }));
    const [empty, large] = out.Records!;
    assert.ok(Buffer.isBuffer(empty!.Data) && empty!.Data.length === 0);
    assert.ok(Buffer.isBuffer(large!.Data) && (large!.Data as Buffer).equals(big));
    assert.ok(large!.Data!.byteLength < large!.Data!.buffer.byteLength, 'a view into the body');
    assert.equal(empty!.ApproximateArrivalTimestamp?.toISOString(), ARRIVAL.toISOString());
    assert.equal(large!.EncryptionType, 'KMS');
    assert.equal(out.NextShardIterator, 'next');
    assert.equal(out.MillisBehindLatest, 0);
  });

  test("kinesalite's answers: data as base64 text or a serialised Buffer, timestamps as plain epoch seconds", async () => {
    const seconds = ARRIVAL.getTime() / 1000;
    const { client } = clientWith('CBOR', () =>
      cborAnswer({
        Records: [
          { Data: Buffer.from('hello').toString('base64'), PartitionKey: 'a', SequenceNumber: '1', ApproximateArrivalTimestamp: seconds },
          { Data: { type: 'Buffer', data: [...Buffer.from('world')] }, PartitionKey: 'a', SequenceNumber: '2', ApproximateArrivalTimestamp: seconds },
        ],
        NextShardIterator: 'next',
        MillisBehindLatest: 0,
      }),
    );
    const out = await client.send(new GetRecordsCommand({ ShardIterator: 'it' }));
    assert.deepEqual(out.Records!.map((r) => Buffer.from(r.Data!).toString()), ['hello', 'world']);
    assert.deepEqual(out.Records!.map((r) => r.ApproximateArrivalTimestamp?.toISOString()), [ARRIVAL.toISOString(), ARRIVAL.toISOString()]);
  });

  test('epoch numbers: milliseconds from 1e11 up, seconds below', () => {
    assert.equal(epochToDate(ARRIVAL.getTime()).toISOString(), ARRIVAL.toISOString());
    assert.equal(epochToDate(ARRIVAL.getTime() / 1000).toISOString(), ARRIVAL.toISOString());
    assert.equal(epochToDate(0).getTime(), 0);
  });

  test('other timestamps in answers (DescribeStreamSummary) come back as Dates too', async () => {
    const { client } = clientWith('CBOR', () =>
      cborAnswer({
        StreamDescriptionSummary: {
          StreamName: 's',
          StreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/s',
          StreamStatus: 'ACTIVE',
          RetentionPeriodHours: 24,
          StreamCreationTimestamp: tag({ tag: 1, value: ARRIVAL.getTime() }),
          EnhancedMonitoring: [],
          OpenShardCount: 2,
        },
      }),
    );
    const out = await client.send(new DescribeStreamSummaryCommand({ StreamName: 's' }));
    assert.equal(out.StreamDescriptionSummary?.StreamCreationTimestamp?.toISOString(), ARRIVAL.toISOString());
    assert.equal(out.StreamDescriptionSummary?.OpenShardCount, 2);
  });

  test('an answer that does not decode says what to do', async () => {
    const whole = cborBody({ NextShardIterator: 'x'.repeat(100), MillisBehindLatest: 0 });
    const { client } = clientWith('CBOR', () => ({ headers: { 'content-type': CBOR_CONTENT_TYPE }, body: whole.subarray(0, 40) }));
    await assert.rejects(client.send(new GetRecordsCommand({ ShardIterator: 'it' })), /kinesisProtocol = JSON/);
  });
});

describe('errors keep their names under both protocols', () => {
  const cases = [
    ['ExpiredIteratorException', 'expired-iterator'],
    ['ProvisionedThroughputExceededException', 'throttled'],
    ['ResourceNotFoundException', 'not-found'],
    ['InvalidArgumentException', 'invalid'],
    ['LimitExceededException', 'throttled'],
  ] as const;
  for (const protocol of KINESIS_PROTOCOLS) {
    for (const [name, kind] of cases) {
      test(`${protocol}: ${name} in the body (${protocol === 'CBOR' ? 'CBOR' : 'JSON'}) → ${kind}`, async () => {
        const body = { __type: name, message: `injected ${name}` };
        const { client } = clientWith(protocol, () => (protocol === 'CBOR' ? cborAnswer(body, 400) : jsonAnswer(body, 400)));
        const err = await client.send(new GetRecordsCommand({ ShardIterator: 'it' })).catch((e: unknown) => e);
        assert.equal((err as Error).name, name);
        assert.equal((err as Error).message, `injected ${name}`);
        assert.equal(awsErrorKind(err), kind);
      });
    }
  }

  test('CBOR: a JSON error body (a proxy that only speaks JSON) is read as JSON', async () => {
    const { client } = clientWith('CBOR', () => ({ ...jsonAnswer({ __type: 'ExpiredIteratorException', message: 'too old' }, 400), headers: { 'x-amzn-errortype': 'ExpiredIteratorException' } }));
    const err = await client.send(new GetRecordsCommand({ ShardIterator: 'it' })).catch((e: unknown) => e);
    assert.equal((err as Error).name, 'ExpiredIteratorException');
    assert.equal(awsErrorKind(err), 'expired-iterator');
  });

  test('CBOR: a namespaced __type and a 500 without a body', async () => {
    const namespaced = clientWith('CBOR', () => cborAnswer({ __type: 'com.amazonaws.kinesis#ResourceNotFoundException', message: 'gone' }, 400));
    assert.equal(awsErrorKind(await namespaced.client.send(new ListShardsCommand({ StreamName: 's' })).catch((e: unknown) => e)), 'not-found');
    const empty = clientWith('CBOR', () => ({ status: 500, body: new Uint8Array(0) }));
    assert.equal(awsErrorKind(await empty.client.send(new ListShardsCommand({ StreamName: 's' })).catch((e: unknown) => e)), 'server');
  });
});

describe('the same records whatever the protocol', () => {
  test('unpackRecords gives equal user records from a CBOR and a JSON answer', async () => {
    const datas = [Buffer.alloc(0), Buffer.from('{"a":1}'), Buffer.from([0xf3, 0x89]), Buffer.alloc(300_000, 1)];
    const records = datas.map((d, i) => ({ PartitionKey: `k${i}`, SequenceNumber: String(100 + i), Data: d, Millis: ARRIVAL.getTime() }));
    const fromCbor = clientWith('CBOR', () =>
      cborAnswer({ Records: records.map((r) => ({ Data: r.Data, PartitionKey: r.PartitionKey, SequenceNumber: r.SequenceNumber, ApproximateArrivalTimestamp: tag({ tag: 1, value: r.Millis }) })), NextShardIterator: 'n', MillisBehindLatest: 5 }),
    );
    const fromJson = clientWith('JSON', () =>
      jsonAnswer({ Records: records.map((r) => ({ Data: r.Data.toString('base64'), PartitionKey: r.PartitionKey, SequenceNumber: r.SequenceNumber, ApproximateArrivalTimestamp: r.Millis / 1000 })), NextShardIterator: 'n', MillisBehindLatest: 5 }),
    );
    const view = (raw: _Record[] | undefined) =>
      unpackRecords(raw, 'shardId-0', undefined, silentLogger).records.map((r) => ({
        data: r.data.toString('hex'),
        partitionKey: r.partitionKey,
        sequenceNumber: r.sequenceNumber,
        subSequenceNumber: r.subSequenceNumber,
        arrival: r.approximateArrivalTimestamp.toISOString(),
        aggregated: r.aggregated,
      }));
    const a = view((await fromCbor.client.send(new GetRecordsCommand({ ShardIterator: 'it' }))).Records);
    const b = view((await fromJson.client.send(new GetRecordsCommand({ ShardIterator: 'it' }))).Records);
    assert.equal(a.length, 4);
    assert.deepEqual(a, b);
  });
});

describe('kinesisProtocol default', () => {
  test('CBOR, unless AWS_CBOR_DISABLE is set (to anything but "false" or nothing)', () => {
    assert.equal(defaultKinesisProtocol({}), 'CBOR');
    assert.equal(defaultKinesisProtocol({ AWS_CBOR_DISABLE: '' }), 'CBOR');
    assert.equal(defaultKinesisProtocol({ AWS_CBOR_DISABLE: 'false' }), 'CBOR');
    assert.equal(defaultKinesisProtocol({ AWS_CBOR_DISABLE: 'true' }), 'JSON');
    assert.equal(defaultKinesisProtocol({ AWS_CBOR_DISABLE: '1' }), 'JSON');
  });

  test('the key in a properties file (any case) and in the TypeScript config; a bad value is named', () => {
    const props = (value: string) => parseProperties(`streamName = s\napplicationName = app\nkinesisProtocol = ${value}\n`);
    assert.equal(configFromProperties(props('json')).kinesisProtocol, 'JSON');
    assert.equal(configFromProperties(props('CBOR')).kinesisProtocol, 'CBOR');
    assert.throws(() => configFromProperties(props('XML')), /kinesisProtocol/);
    assert.equal(buildConfig({ streamName: 's', applicationName: 'app', kinesisProtocol: 'JSON' }).kinesisProtocol, 'JSON');
    assert.equal(buildConfig({ streamName: 's', applicationName: 'app' }).kinesisProtocol, defaultKinesisProtocol());
  });

  test('the CBOR protocol is the client\'s protocol only when asked for', () => {
    const cborClient = createKinesisClient({ region: 'us-east-1', kinesisProtocol: 'CBOR' });
    const jsonClient = createKinesisClient({ region: 'us-east-1', kinesisProtocol: 'JSON' });
    try {
      assert.ok(cborClient.config.protocol instanceof KinesisCborProtocol);
      assert.ok(!(jsonClient.config.protocol instanceof KinesisCborProtocol));
    } finally {
      cborClient.destroy();
      jsonClient.destroy();
    }
  });
});

describe('the body collector', () => {
  function body(headers: Record<string, string>): PassThrough & { headers: Record<string, string> } {
    return Object.assign(new PassThrough(), { headers });
  }

  test('a body in pieces is put together in order, whatever the pieces', async () => {
    const whole = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));
    for (const headers of [{ 'content-length': String(whole.length) }, {}] as Record<string, string>[]) {
      const stream = body(headers);
      const collected = collectBody(stream);
      for (let i = 0; i < whole.length; i += 7_777) stream.write(whole.subarray(i, i + 7_777));
      stream.end();
      assert.ok(Buffer.from(await collected).equals(whole), JSON.stringify(headers));
    }
  });

  test('one piece is returned as it came; an empty body is empty', async () => {
    const piece = Buffer.from('abc');
    const one = body({ 'content-length': '3' });
    const collected = collectBody(one);
    one.end(piece);
    assert.equal(await collected, piece);
    const none = body({ 'content-length': '0' });
    const empty = collectBody(none);
    none.end();
    assert.equal((await empty).length, 0);
  });

  test('more bytes than announced are all kept', async () => {
    const stream = body({ 'content-length': '4' });
    const collected = collectBody(stream);
    stream.write(Buffer.from('ab'));
    stream.write(Buffer.from('cd'));
    stream.write(Buffer.from('ef'));
    stream.end();
    assert.equal(Buffer.from(await collected).toString(), 'abcdef');
  });

  test('a body cut short, or failing, rejects', async () => {
    const cut = body({ 'content-length': '10' });
    const collected = collectBody(cut);
    cut.write(Buffer.from('abc'));
    cut.destroy();
    await assert.rejects(collected, /cut short/);
    const failing = body({});
    const failed = collectBody(failing);
    failing.destroy(new Error('ECONNRESET'));
    await assert.rejects(failed, /ECONNRESET/);
  });

  test('a plain byte array is returned as it is', async () => {
    const bytes = new Uint8Array([1, 2, 3]);
    assert.equal(await collectBody(bytes), bytes);
  });
});
