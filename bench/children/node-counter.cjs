#!/usr/bin/env node
/**
 * The benchmark's Node child: an ordinary aws-kcl (v2 API) record processor that JSON-parses every record's
 * data, counts the records, checkpoints once per batch and at shard end or shutdown. It runs unchanged under
 * any MultiLangDaemon (`executableName = node bench/children/node-counter.cjs`). stdout is the protocol channel,
 * so nothing here prints; a failed checkpoint goes to stderr.
 */
'use strict';

const kcl = require('aws-kcl');

let shardId = '';
let counted = 0;

function checkpointThen(checkpointer, done) {
  checkpointer.checkpoint((err) => {
    if (err) process.stderr.write(`${shardId}: checkpoint failed after ${counted} records: ${err}\n`);
    done();
  });
}

kcl({
  initialize(input, done) {
    shardId = input.shardId;
    done();
  },

  processRecords(input, done) {
    const records = input.records || [];
    for (const record of records) JSON.parse(Buffer.from(record.data, 'base64').toString('utf8'));
    counted += records.length;
    if (records.length === 0) return done();
    checkpointThen(input.checkpointer, done);
  },

  leaseLost(input, done) {
    done();
  },

  shardEnded(input, done) {
    checkpointThen(input.checkpointer, done);
  },

  shutdownRequested(input, done) {
    checkpointThen(input.checkpointer, done);
  },
}).run();
