/**
 * Large GetRecords answers over CBOR are read into pooled buffers that later answers reuse (src/aws/body-collector.ts,
 * src/aws/kinesis-protocol.ts). What a user relies on: the data of the records a call returned stays what was
 * put, whatever later calls read into the same memory.
 *
 * The far end is a small HTTP server on loopback answering as AWS does, with record data as raw CBOR byte strings
 * (the form the reader would hand out as views into the answer). Neither emulator sends that: both put base64
 * text inside their CBOR answers (docs/retrieval.md, 'Wire protocol'). The SDK client, its HTTP stack and our
 * collector and decoder are the real ones.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GetRecordsCommand } from '@aws-sdk/client-kinesis';
import { cbor, tag } from '@smithy/core/cbor';
import { answerPool } from '../../src/aws/body-collector.js';
import { createKinesisClient } from '../../src/aws/clients.js';
import { startLoopbackServer, type LoopbackServer } from '../helpers/loopback-server.js';

const RECORD_BYTES = 1024;

/** Record `i` of answer `n`: bytes of its own, so that any byte of another answer or record shows. */
function payload(n: number, i: number): Buffer {
  const letter = String.fromCharCode(65 + (n % 26));
  return Buffer.from(`${letter}${String(i).padStart(6, '0')}`.padEnd(RECORD_BYTES, letter));
}

/** A GetRecords answer of as many records as the iterator names (the `n`th answer the server gave). */
function getRecordsAnswer(body: Buffer, n: number): Uint8Array {
  const count = Number((cbor.deserialize(body) as { ShardIterator: string }).ShardIterator);
  return cbor.serialize({
    Records: Array.from({ length: count }, (_, i) => ({
      Data: new Uint8Array(payload(n, i)),
      PartitionKey: `pk-${i}`,
      SequenceNumber: `4959${String(n * 100_000 + i).padStart(52, '0')}`,
      ApproximateArrivalTimestamp: tag({ tag: 1, value: 1_476_889_707_000 + i }),
    })),
    NextShardIterator: String(count),
    MillisBehindLatest: 0,
  });
}

describe('pooled answer buffers', () => {
  let answers = 0;
  let far: LoopbackServer;
  let kinesis: ReturnType<typeof createKinesisClient>;
  before(async () => {
    far = await startLoopbackServer((body, _req, res) => {
      const answer = getRecordsAnswer(body, answers++);
      res.writeHead(200, { 'content-type': 'application/x-amz-cbor-1.1', 'content-length': String(answer.byteLength) }).end(answer);
    });
    kinesis = createKinesisClient({ kinesisEndpoint: far.endpoint, kinesisProtocol: 'CBOR' });
  });
  after(async () => {
    kinesis.destroy();
    await far.stop();
  });

  test('records of a large answer keep their data while later answers reuse its buffer', async () => {
    const reusedBefore = answerPool.reused;
    const answers = [];
    for (let n = 0; n < 4; n++) answers.push(await kinesis.send(new GetRecordsCommand({ ShardIterator: '1100' })));
    // Each answer is over a megabyte: every one after the first could take the buffer given back before it.
    assert.ok(answerPool.reused > reusedBefore, `pooled buffers were reused (${answerPool.reused - reusedBefore} times)`);
    answers.forEach((answer, n) => {
      const records = answer.Records ?? [];
      assert.equal(records.length, 1100);
      records.forEach((r, i) => assert.ok(Buffer.from(r.Data!).equals(payload(n, i)), `answer ${n} record ${i} intact`));
      assert.equal(records[5]!.ApproximateArrivalTimestamp?.getTime(), 1_476_889_707_005);
    });
  });

  test('a small answer is read in place: its data are views into it, and the pool is not touched', async () => {
    const before = { reused: answerPool.reused, allocated: answerPool.allocated };
    const answer = await kinesis.send(new GetRecordsCommand({ ShardIterator: '20' }));
    const records = answer.Records ?? [];
    assert.equal(records.length, 20);
    assert.deepEqual({ reused: answerPool.reused, allocated: answerPool.allocated }, before);
    // Views into one answer buffer, not copies of their own.
    assert.equal(records[0]!.Data!.buffer, records[19]!.Data!.buffer);
    assert.ok(records[0]!.Data!.buffer.byteLength > 20 * RECORD_BYTES);
    records.forEach((r, i) => assert.ok(Buffer.from(r.Data!).equals(payload(answers - 1, i))));
  });
});
