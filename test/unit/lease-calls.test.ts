/**
 * The benchmarks' lease-table call counts (bench/lease-calls.ts) come from the `aws.call` events: DynamoDB
 * calls by purpose, the table's set-up and Kinesis calls left out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KclEvents } from '../../src/common/events.js';
import { copyCounts, countLeaseTableCalls } from '../../bench/lease-calls.js';

test('lease-table calls counted by purpose from aws.call events', () => {
  const events = new KclEvents();
  const counts = countLeaseTableCalls(events.readOnly());
  const call = (operation: string, purpose: string | undefined, service: 'dynamodb' | 'kinesis' = 'dynamodb', outcome = 'ok') =>
    events.emit('aws.call', { service, operation, purpose, outcome, millis: 1 });
  call('DescribeTable', 'describe-table');
  call('CreateTable', 'create-table');
  call('Scan', 'scan');
  call('Scan', 'scan');
  call('GetItem', 'get');
  call('PutItem', 'put', 'dynamodb', 'conditional-check-failed');
  call('UpdateItem', 'renew');
  call('UpdateItem', 'renew', 'dynamodb', 'timeout');
  call('UpdateItem', 'checkpoint');
  call('UpdateItem', 'handoff-request');
  call('DeleteItem', 'delete');
  call('GetRecords', undefined, 'kinesis');
  const before = copyCounts(counts);
  assert.deepEqual(before, { scan: 2, get: 1, put: 1, update: 4, delete: 1, updates: { renew: 2, checkpoint: 1, 'handoff-request': 1 } });
  call('UpdateItem', 'renew');
  assert.equal(counts.updates.renew, 3, 'the counts go on');
  assert.equal(before.updates.renew, 2, 'a copy does not');
});
