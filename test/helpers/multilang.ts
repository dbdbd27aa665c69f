/**
 * Running the MultiLangDaemon in a test: a worker whose children are the fixture processors under
 * test/fixtures/multilang, each writing one JSON line per event to a log file the test reads back.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../src/common/logger.js';
import { createMultiLangWorker } from '../../src/multilang/daemon.js';
import type { Worker } from '../../src/worker/worker.js';
import type { KclConfigInput } from '../../src/config/config.js';
import { buildDaemonSetup, type DaemonConfigInput } from '../../src/multilang/daemon-config.js';

/** The repository root (tests run from dist/test/helpers). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const fixture = (name: string) => path.join(repoRoot, 'test/fixtures/multilang', name);

export interface ChildEvent {
  pid: number;
  shard: string;
  event: string;
  seq?: string;
  sub?: number;
  data?: string;
  error?: string | null;
  /** Epoch milliseconds when the child logged it (aws_kcl_processor.cjs only). */
  t?: number;
}

export interface DaemonRun {
  worker: Worker;
  logFile: string;
  /** Every child stderr line, as relayed by the daemon (`[shardId] line`). */
  stderrLines: string[];
  events(): ChildEvent[];
}

/** Daemons started and not yet stopped: a test that fails half-way still leaves no worker or child running. */
const running = new Set<Worker>();

/** Shuts down every daemon a test started (call from afterEach); a no-op for those already stopped. */
export async function stopDaemons(): Promise<void> {
  const workers = [...running];
  running.clear();
  await Promise.all(workers.map((w) => w.shutdown()));
}

export function startDaemon(config: KclConfigInput & DaemonConfigInput, mode: string, extraEnv: NodeJS.ProcessEnv = {}): DaemonRun {
  const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kcl-ml-')), 'events.jsonl');
  fs.writeFileSync(logFile, '');
  const stderrLines: string[] = [];
  let partial = '';
  const childStderr = new Writable({
    write(chunk: Buffer, _enc, done) {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      stderrLines.push(...parts);
      done();
    },
  });
  const worker = createMultiLangWorker({
    ...buildDaemonSetup(config),
    logger: silentLogger,
    childStderr,
    childEnv: { ...process.env, KCL_TEST_LOG: logFile, KCL_FIXTURE_MODE: mode, ...extraEnv },
  });
  running.add(worker);
  return {
    worker,
    logFile,
    stderrLines,
    events: () =>
      fs
        .readFileSync(logFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as ChildEvent),
  };
}
