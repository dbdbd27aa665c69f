#!/usr/bin/env node
/**
 * The benchmark's ceiling child: it answers every action without reading the records (no parsing, no decoding),
 * checkpointing each batch as the other children do. What the daemon moves with it is the most any child can
 * reach on the machine: the daemon's own work, the pipes and the children's start-up, and nothing else.
 */
'use strict';

/** The first bytes of the current line: enough to read its action. */
let head = Buffer.alloc(0);
/** The action whose checkpoint response we wait for before its status. */
let checkpointing = '';

function onLine(line) {
  const action = /^\s*\{\s*"action"\s*:\s*"(\w+)"/.exec(line)?.[1];
  if (action === undefined) return;
  if (action === 'checkpoint') return send({ action: 'status', responseFor: checkpointing });
  if (action === 'processRecords' || action === 'shardEnded' || action === 'shutdownRequested') {
    checkpointing = action;
    return send({ action: 'checkpoint', sequenceNumber: null, subSequenceNumber: null });
  }
  send({ action: 'status', responseFor: action });
}

function send(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

process.stdin.on('data', (chunk) => {
  let start = 0;
  for (let end = chunk.indexOf(0x0a); end >= 0; start = end + 1, end = chunk.indexOf(0x0a, start)) {
    onLine(Buffer.concat([head, chunk.subarray(start, Math.min(end, start + 64))]).toString('latin1'));
    head = Buffer.alloc(0);
  }
  if (head.length < 64) head = Buffer.concat([head, chunk.subarray(start, start + 64 - head.length)]);
});
