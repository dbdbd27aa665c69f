/**
 * Writing to children with backpressure: writeChunks takes the next chunk only after the stream accepted the
 * previous one and stops waiting on a timeout or when told to; through the daemon, a child that reads its stdin
 * slowly gets a multi-megabyte batch intact and in order, and one that stops reading is failed after
 * timeoutInSeconds instead of hanging the shard.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { silentLogger } from '../../src/common/logger.js';
import { ProcessorFailedException } from '../../src/common/errors.js';
import { TRIM_HORIZON } from '../../src/checkpoint/sequence.js';
import { MultiLangRecordProcessor } from '../../src/multilang/index.js';
import { writeChunks } from '../../src/multilang/pipe-writer.js';
import { createUserRecord } from '../../src/retrieval/user-record.js';
import type { Checkpointer, KinesisClientRecord } from '../../src/processor/types.js';

/** A stream that takes `delayMillis` to accept each write, like a child that reads slowly. */
function slowStream(delayMillis: number, received: Buffer[]): Writable {
  return new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _encoding, done) {
      received.push(chunk);
      setTimeout(done, delayMillis);
    },
  });
}

describe('writeChunks', () => {
  test('pulls the next chunk only after the stream drained: one chunk in flight, nothing lost or reordered', async () => {
    const received: Buffer[] = [];
    const stream = slowStream(1, received);
    const sent: Buffer[] = [];
    let maxAhead = 0;
    function* chunks(): Generator<Buffer> {
      for (let i = 0; i < 60; i++) {
        maxAhead = Math.max(maxAhead, sent.length - received.length);
        const chunk = randomBytes(4096);
        sent.push(chunk);
        yield chunk;
      }
    }
    assert.equal(await writeChunks(stream, chunks()), undefined);
    await new Promise<void>((resolve) => stream.end(resolve));
    assert.ok(Buffer.concat(received).equals(Buffer.concat(sent)), 'every byte, in order');
    assert.ok(maxAhead <= 1, `at most one chunk waited in the stream when the next was made (saw ${maxAhead})`);
    assert.equal(stream.listenerCount('drain'), 0);
  });

  test('a stream that never drains: gives up after timeoutMillis; a stop reason ends the wait at once', async () => {
    const stuck = () => new Writable({ highWaterMark: 16, write: () => undefined });
    const started = Date.now();
    const why = await writeChunks(stuck(), [Buffer.alloc(64), Buffer.alloc(64)], { timeoutMillis: 100 });
    assert.match(why ?? '', /read none of its input for 0\.1 s/);
    assert.ok(Date.now() - started < 5_000);

    let stop: ((reason: string) => void) | undefined;
    const stream = stuck();
    const pending = writeChunks(stream, [Buffer.alloc(64), Buffer.alloc(64)], {
      onStop: (listener) => {
        stop = listener;
        return () => (stop = undefined);
      },
    });
    await new Promise((resolve) => setImmediate(resolve));
    stop?.('the child process exited (exit code 1)');
    assert.equal(await pending, 'the child process exited (exit code 1)');
    assert.equal(stop, undefined, 'the stop listener was removed');
    assert.equal(stream.listenerCount('drain') + stream.listenerCount('close'), 0);
  });

  test('a stream closed while waiting, or before writing', async () => {
    const stream = new Writable({ highWaterMark: 16, write: () => undefined });
    const pending = writeChunks(stream, [Buffer.alloc(64), Buffer.alloc(64)]);
    stream.destroy();
    assert.equal(await pending, 'its stdin was closed');
    assert.equal(await writeChunks(stream, [Buffer.alloc(1)]), 'its stdin is closed');
  });
});

/** A child in Node that answers the protocol but reads its stdin in small, slow steps (or stops reading). */
const SLOW_CHILD = `
const fs = require('node:fs');
const crypto = require('node:crypto');
const mode = process.argv[2];
const log = process.argv[3];
let buffer = '';
function answer(action) { process.stdout.write(JSON.stringify({ action: 'status', responseFor: action }) + '\\n'); }
function onLine(line) {
  const msg = JSON.parse(line);
  if (msg.action === 'processRecords') {
    const hash = crypto.createHash('sha256');
    for (const r of msg.records) hash.update(r.sequenceNumber + ':' + r.subSequenceNumber + ':' + r.data + ';');
    fs.writeFileSync(log, JSON.stringify({ records: msg.records.length, digest: hash.digest('hex') }));
  }
  answer(msg.action);
  if (msg.action === 'initialize' && mode === 'stop-reading') {
    process.stdin.pause();
    setInterval(() => undefined, 60000); // a paused stdin alone would let the process exit
  }
}
process.stdin.on('data', (chunk) => {
  buffer += chunk.toString('latin1');
  let i;
  while ((i = buffer.indexOf('\\n')) >= 0) { const line = buffer.slice(0, i); buffer = buffer.slice(i + 1); onLine(line); }
  if (mode === 'slow' && !process.stdin.isPaused()) { process.stdin.pause(); setTimeout(() => process.stdin.resume(), 2); }
});
process.stdin.on('end', () => process.exit(0));
`;

const checkpointer: Checkpointer = {
  checkpoint: () => Promise.resolve(),
  lastCheckpoint: TRIM_HORIZON,
  largestPermittedCheckpoint: TRIM_HORIZON,
};

function expectedDigest(records: readonly KinesisClientRecord[]): string {
  const hash = createHash('sha256');
  for (const r of records) hash.update(`${r.sequenceNumber}:${r.subSequenceNumber}:${r.data.toString('base64')};`);
  return hash.digest('hex');
}

describe('MultiLangRecordProcessor writing to a child', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kcl-bp-'));
  const script = path.join(dir, 'slow-child.cjs');
  fs.writeFileSync(script, SLOW_CHILD);
  const records = Array.from({ length: 6000 }, (_, i) =>
    createUserRecord({ data: randomBytes(1000 + (i % 3)), partitionKey: `pk-${i % 9} é`, sequenceNumber: String(10n ** 40n + BigInt(i >> 2)), subSequenceNumber: i % 4, aggregated: true }),
  );

  test('a child that reads slowly gets a batch of several megabytes whole and in order', async () => {
    const log = path.join(dir, 'slow.json');
    const processor = new MultiLangRecordProcessor({ executableName: `${process.execPath} ${script} slow ${log}`, timeoutInSeconds: 30, logger: silentLogger });
    await processor.initialize({ shardId: 'shardId-000000000000', extendedSequenceNumber: TRIM_HORIZON });
    await processor.processRecords({ shardId: 'shardId-000000000000', records, millisBehindLatest: 0, checkpointer, isAtShardEnd: false });
    await processor.leaseLost({ shardId: 'shardId-000000000000' });
    assert.deepEqual(JSON.parse(fs.readFileSync(log, 'utf8')), { records: records.length, digest: expectedDigest(records) });
  });

  test('a child that stops reading its stdin fails after timeoutInSeconds instead of hanging', async () => {
    const log = path.join(dir, 'stuck.json');
    const processor = new MultiLangRecordProcessor({ executableName: `${process.execPath} ${script} stop-reading ${log}`, timeoutInSeconds: 1, logger: silentLogger });
    await processor.initialize({ shardId: 'shardId-000000000001', extendedSequenceNumber: TRIM_HORIZON });
    const started = Date.now();
    await assert.rejects(
      processor.processRecords({ shardId: 'shardId-000000000001', records, millisBehindLatest: 0, checkpointer, isAtShardEnd: false }),
      (err: Error) => err instanceof ProcessorFailedException && /read none of its input for 1 s/.test(err.message),
    );
    assert.ok(Date.now() - started < 10_000);
    assert.equal(fs.existsSync(log), false, 'the child never saw the whole batch');
  });
});
