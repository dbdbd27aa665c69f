/**
 * What a production user installs: the tarball `npm pack` makes, installed with `npm install --omit=dev` into an
 * empty project. It must carry no emulator and no dev tool, expose only the entry points of its `exports` map,
 * and run a minimal TypeScript processor (type-checked against the installed declarations) against the test
 * emulators. `kcl local` from such an install says what to install instead of failing obscurely.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { produceRecords } from '../../src/local/producer.js';
import { createTestStream, SKIP_REASON, testEnv, uniqueName } from '../helpers/env.js';

const run = promisify(execFile);
const env = testEnv();
after(() => env?.close());

/** The repository root (this file runs from dist/test/integration/). */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');

/** Packages that only local mode or development may bring in. */
const FORBIDDEN = ['kinesis-local', 'dynalite', 'classic-level', 'typescript', 'aws-kcl', 'aws-kinesis-agg', '@types/node'];

const PROCESSOR = `
import { Worker, type ProcessRecordsInput, type RecordProcessor, type ShardEndedInput, type ShutdownRequestedInput } from 'kcl-ts';
import type { RecordProcessor as ChildRecordProcessor } from 'kcl-ts/child';

const expected = Number(process.env.EXPECTED);
let seen = 0;

class Counter implements RecordProcessor {
  initialize(): void {}
  async processRecords({ records, checkpointer }: ProcessRecordsInput): Promise<void> {
    seen += records.length;
    if (records.length > 0) await checkpointer.checkpoint();
    if (seen >= expected) done();
  }
  leaseLost(): void {}
  async shardEnded({ checkpointer }: ShardEndedInput): Promise<void> {
    await checkpointer.checkpoint();
  }
  async shutdownRequested({ checkpointer }: ShutdownRequestedInput): Promise<void> {
    await checkpointer.checkpoint();
  }
}
// The child entry point takes the same processor type.
const asChild: ChildRecordProcessor = new Counter();
void asChild;

const worker = new Worker({
  config: {
    streamName: process.env.STREAM!,
    applicationName: process.env.APP!,
    kinesisEndpoint: process.env.KINESIS_ENDPOINT,
    dynamoDBEndpoint: process.env.DYNAMODB_ENDPOINT,
    initialPositionInStream: 'TRIM_HORIZON',
    idleTimeBetweenReadsInMillis: 200,
  },
  processorFactory: () => new Counter(),
});
let finishing = false;
function done(): void {
  if (finishing) return;
  finishing = true;
  void worker.shutdown().then(() => console.log('consumed ' + seen));
}
await worker.start();
`;

const DEEP_IMPORT = `
try {
  await import('kcl-ts/dist/src/leases/lease-table.js');
  console.log('deep import allowed');
} catch (err) {
  console.log(err.code);
}
const child = await import('kcl-ts/child');
console.log(typeof child.runChildProcessor);
`;

describe('the installed package', { skip: env ? false : SKIP_REASON }, () => {
  let dir = '';
  let tarball = '';

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kcl-ts-install-'));
    // dist/ is already built (npm test builds first); --ignore-scripts keeps pack from building again.
    const packed = await run(npm, ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], { cwd: root });
    tarball = path.join(dir, packed.stdout.trim().split('\n').pop()!);
    const project = path.join(dir, 'app');
    await fs.mkdir(project);
    await fs.writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    // Everything it needs is in the npm cache after `npm ci`; the registry is asked only for what is missing.
    await run(npm, ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], { cwd: project, timeout: 240_000 });
  });

  after(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  const project = () => path.join(dir, 'app');

  test('the tarball ships the built library and nothing of the workshop', async () => {
    const { stdout } = await run('tar', ['tzf', tarball]);
    const files = stdout.trim().split('\n').map((f) => f.replace(/^package\//, ''));
    for (const needed of ['package.json', 'README.md', 'LICENSE', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/child.js', 'dist/src/cli/main.js', 'dist/src/local/index.js']) {
      assert.ok(files.includes(needed), `${needed} is in the tarball`);
    }
    const stray = files.filter((f) => /^(dist\/)?(test|bench|samples|scripts)\//.test(f) || f.endsWith('.map') || /^src\//.test(f));
    assert.deepEqual(stray, [], 'no tests, benchmarks, samples, scripts, sources or source maps');
  });

  test('a production install carries no emulator and no dev tool', async () => {
    const { stdout } = await run(npm, ['ls', '--all', '--parseable', '--omit=dev'], { cwd: project() });
    const installed = new Set(stdout.trim().split('\n').map((p) => p.split(`node_modules${path.sep}`).pop()!));
    assert.ok(installed.has('kcl-ts'));
    assert.ok(installed.has('@aws-sdk/client-kinesis') && installed.has('@aws-sdk/client-dynamodb'));
    const present = FORBIDDEN.filter((name) => installed.has(name));
    assert.deepEqual(present, [], 'none of the emulators or dev tools is installed');
    // npm ls only lists the tree; make sure nothing was unpacked on the side either.
    for (const name of FORBIDDEN) {
      await assert.rejects(fs.access(path.join(project(), 'node_modules', name)), `${name} is not in node_modules`);
    }
  });

  test('only the exported entry points can be imported', async () => {
    await fs.writeFile(path.join(project(), 'deep.mjs'), DEEP_IMPORT);
    const { stdout } = await run(process.execPath, ['deep.mjs'], { cwd: project() });
    assert.deepEqual(stdout.trim().split('\n'), ['ERR_PACKAGE_PATH_NOT_EXPORTED', 'function']);
  });

  test('a minimal TypeScript processor, type-checked against the installed package, consumes a stream', { timeout: 120_000 }, async () => {
    const e = env!;
    const stream = await createTestStream(e, 'installed', 2);
    await produceRecords(e.kinesis, { stream, count: 200 });
    await fs.writeFile(path.join(project(), 'processor.ts'), PROCESSOR);
    // The user's compiler settings for an ESM project; Node's types come from this repository's dev install.
    await run(
      process.execPath,
      [tsc, '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--types', 'node', '--typeRoots', path.join(root, 'node_modules/@types'), '--outDir', 'out', 'processor.ts'],
      { cwd: project() },
    );
    const { stdout } = await run(process.execPath, ['out/processor.js'], {
      cwd: project(),
      timeout: 90_000,
      env: { ...process.env, STREAM: stream, APP: uniqueName('installed-app'), EXPECTED: '200', KINESIS_ENDPOINT: e.kinesisEndpoint, DYNAMODB_ENDPOINT: e.dynamodbEndpoint, KCL_LOG_LEVEL: 'warn' },
    });
    assert.match(stdout, /^consumed 200$/m);
  });

  test('kcl local without the emulators says what to install', async () => {
    const main = path.join(project(), 'node_modules/kcl-ts/dist/src/cli/main.js');
    const result = await run(process.execPath, [main, 'local'], { cwd: project() }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
    );
    assert.equal(result.code, 1);
    assert.match(result.stderr, /local mode needs the emulators kinesis-local and dynalite/);
    assert.match(result.stderr, /npm install --save-dev kinesis-local@"\^[\d.]+" dynalite@"\^[\d.]+"/);
  });
});
