#!/usr/bin/env node
/**
 * Test entry point (`npm test`, after tsc has built dist/). Owns the one local stack shared by the whole run:
 * starts kinesis-local + dynalite once (start-up is the slow part), hands their endpoints to the tests through
 * KCL_TEST_KINESIS_ENDPOINT / KCL_TEST_DYNAMODB_ENDPOINT, runs `node --test` on the built unit and integration
 * tests, stops the stack (also on SIGINT/SIGTERM) and exits with the test runner's exit code.
 *
 * Arguments: `--foo` options go to `node --test` as they are (e.g. --test-name-pattern=lease); any other argument
 * selects test files: an existing file path is run as given, otherwise it keeps only the discovered files whose
 * path contains it (e.g. `node scripts/run-tests.mjs local-stack cli-local`).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const testRoots = [path.join(root, 'dist/test/unit'), path.join(root, 'dist/test/integration')];
/** A test run that wedges must not hold CI forever; node --test has its own per-test timeouts on top. */
const RUN_TIMEOUT_MILLIS = Number(process.env.KCL_TEST_RUN_TIMEOUT_MS ?? 30 * 60_000);

/** Every *.test.js below dir, recursively (Node 20 has no fs glob). Sorted for a stable order. */
function findTests(dir) {
  if (!fs.existsSync(dir)) return [];
  const found = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findTests(full));
    else if (entry.isFile() && entry.name.endsWith('.test.js')) found.push(full);
  }
  return found.sort();
}

function selectFiles(args) {
  const all = testRoots.flatMap(findTests);
  const filters = args.filter((a) => !a.startsWith('-'));
  if (filters.length === 0) return all;
  const selected = new Set();
  for (const f of filters) {
    const asPath = path.resolve(f);
    if (fs.existsSync(asPath) && fs.statSync(asPath).isFile()) {
      selected.add(asPath);
      continue;
    }
    const matches = all.filter((file) => path.relative(root, file).includes(f));
    if (matches.length === 0) process.stderr.write(`run-tests: no test file matches "${f}"\n`);
    for (const m of matches) selected.add(m);
  }
  return [...selected].sort();
}

const args = process.argv.slice(2);
const passThrough = args.filter((a) => a.startsWith('-'));
const files = selectFiles(args);
if (files.length === 0) {
  process.stderr.write(`run-tests: no test files found under ${testRoots.map((d) => path.relative(root, d)).join(', ')} (did tsc run?)\n`);
  process.exit(1);
}

const stackModule = path.join(root, 'dist/src/local/stack.js');
if (!fs.existsSync(stackModule)) {
  process.stderr.write(`run-tests: ${path.relative(root, stackModule)} is missing; build first (npx tsc -p tsconfig.json)\n`);
  process.exit(1);
}

let stack;
let testChild;
let shuttingDown = false;
let signalCount = 0;
const startup = new AbortController();

function onSignal(sig) {
  signalCount++;
  if (signalCount === 1) {
    process.stderr.write(`run-tests: ${sig}: stopping the tests, then the local stack\n`);
    startup.abort(new Error(`interrupted by ${sig}`));
    // From a terminal the test runner got the signal too; from `kill` or `timeout` only we did, so pass it on.
    if (testChild && testChild.exitCode === null && testChild.signalCode === null) testChild.kill(sig);
    return;
  }
  process.stderr.write('run-tests: second signal: killing the test runner\n');
  if (testChild && testChild.exitCode === null) testChild.kill('SIGKILL');
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

async function stopStack() {
  if (!stack || shuttingDown) return;
  shuttingDown = true;
  const t0 = performance.now();
  await stack.stop();
  process.stderr.write(`run-tests: local stack stopped in ${Math.round(performance.now() - t0)} ms\n`);
}

try {
  const { startLocalStack } = await import(pathToFileURL(stackModule).href);
  const t0 = performance.now();
  stack = await startLocalStack({ signal: startup.signal });
  const s = stack.startupMillis;
  process.stderr.write(
    `run-tests: local stack up in ${Math.round(performance.now() - t0)} ms ` +
      `(dynalite ${s.dynamodb} ms, kinesis-local ${s.kinesis} ms): kinesis ${stack.kinesisEndpoint}, dynamodb ${stack.dynamodbEndpoint}\n`,
  );
} catch (err) {
  if (startup.signal.aborted) {
    // startLocalStack stopped whatever it had started before rejecting.
    process.stderr.write('run-tests: interrupted while starting the local stack\n');
    process.exit(130);
  }
  process.stderr.write(`run-tests: could not start the local stack: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

// The stack may have been interrupted right as it came up.
if (startup.signal.aborted) {
  await stopStack();
  process.exit(130);
}

const env = {
  ...process.env,
  KCL_TEST_KINESIS_ENDPOINT: stack.kinesisEndpoint,
  KCL_TEST_DYNAMODB_ENDPOINT: stack.dynamodbEndpoint,
  // The SDK's notice about its future Node 22 requirement would be printed by every test file.
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};
const nodeArgs = ['--test', '--test-reporter=spec', '--test-concurrency=2', ...passThrough, ...files];
testChild = spawn(process.execPath, nodeArgs, { cwd: root, env, stdio: 'inherit' });

const runTimer = setTimeout(() => {
  process.stderr.write(`run-tests: the run exceeded ${RUN_TIMEOUT_MILLIS / 1000} s; killing the test runner\n`);
  testChild.kill('SIGKILL');
}, RUN_TIMEOUT_MILLIS);

const { code, signal } = await new Promise((resolve) => {
  testChild.once('exit', (c, s) => resolve({ code: c, signal: s }));
  testChild.once('error', (err) => {
    process.stderr.write(`run-tests: could not run node --test: ${err.message}\n`);
    resolve({ code: 1, signal: null });
  });
});
clearTimeout(runTimer);
await stopStack();

if (code !== null) process.exit(code);
process.stderr.write(`run-tests: the test runner was killed by ${signal}\n`);
process.exit(1);
