/**
 * End-to-end test of the `kcl local` and `kcl produce` commands as a user runs them: the exact stdout contract
 * (`kinesis <url>`, `dynamodb <url>`, `ready`; `wrote N records to STREAM`), and a clean exit 0 on SIGINT with
 * no kinesis-local process left behind. Starts its own stack through the CLI; needs no shared endpoints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { createKinesisClient } from '../../src/aws/clients.js';
import { cliEnv, execFileAsync, exitOf, isAlive, kinesisLocalChildrenOf, mainJs, withTimeout } from '../helpers/cli.js';

test('kcl local prints its endpoints and ready, serves kcl produce, and exits 0 on SIGINT leaving nothing', { timeout: 120_000 }, async () => {
  const local = spawn(process.execPath, [mainJs, 'local', '--stream', 't1:2'], { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  local.stderr?.setEncoding('utf8');
  local.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = exitOf(local);
  let kinesisPids: number[] = [];
  try {
    // Read stdout lines until `ready`; fail fast if the process exits first.
    const lines: string[] = [];
    const rl = readline.createInterface({ input: local.stdout! });
    const ready = new Promise<void>((resolve, reject) => {
      rl.on('line', (line) => {
        lines.push(line);
        if (line === 'ready') resolve();
      });
      void exited.then(({ code, signal }) => reject(new Error(`kcl local exited (${code ?? signal}) before ready; stderr:\n${stderr}`)));
    });
    await withTimeout(ready, 60_000, `kcl local ready (stderr so far:\n${stderr})`);
    assert.equal(lines.length, 3, `stdout lines: ${JSON.stringify(lines)}`);
    assert.match(lines[0] ?? '', /^kinesis http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(lines[1] ?? '', /^dynamodb http:\/\/127\.0\.0\.1:\d+$/);
    const kinesisUrl = (lines[0] ?? '').split(' ')[1] ?? '';

    const children = kinesisLocalChildrenOf(local.pid!);
    if (children) {
      assert.equal(children.length, 1, 'one kinesis-local child while running');
      kinesisPids = children;
    }

    const produced = await execFileAsync(process.execPath, [mainJs, 'produce', '--stream', 't1', '--count', '25', '--kinesis-endpoint', kinesisUrl], {
      env: cliEnv(),
      timeout: 60_000,
    });
    assert.equal(produced.stdout, 'wrote 25 records to t1\n');

    // The records are really there (2 shards, read from the start).
    const kinesis = createKinesisClient({ kinesisEndpoint: kinesisUrl, region: 'us-east-1' });
    try {
      const shards = (await kinesis.send(new ListShardsCommand({ StreamName: 't1' }))).Shards ?? [];
      assert.equal(shards.length, 2);
      let total = 0;
      for (const shard of shards) {
        const it = await kinesis.send(new GetShardIteratorCommand({ StreamName: 't1', ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
        const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator, Limit: 10_000 }));
        total += out.Records?.length ?? 0;
      }
      assert.equal(total, 25);
    } finally {
      kinesis.destroy();
    }

    local.kill('SIGINT');
    const { code, signal } = await withTimeout(exited, 10_000, 'kcl local exit after SIGINT');
    assert.equal(signal, null, `stderr:\n${stderr}`);
    assert.equal(code, 0, `stderr:\n${stderr}`);
    for (const pid of kinesisPids) assert.equal(isAlive(pid), false, `kinesis-local ${pid} is gone`);
  } finally {
    if (local.exitCode === null && local.signalCode === null) local.kill('SIGKILL');
    for (const pid of kinesisPids) {
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  }
});
