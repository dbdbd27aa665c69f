/**
 * Helpers for tests that run the `kcl` CLI as a user does: the built entry point, a clean environment,
 * waiting for exits with a bound, and finding kinesis-local children so a test can prove none is left.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const execFileAsync = promisify(execFile);
export const mainJs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

/** The CLI must not think it runs inside the test runner, nor pick up endpoints from the developer's shell. */
export function cliEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  delete env.KCL_KINESIS_ENDPOINT;
  delete env.KCL_DYNAMODB_ENDPOINT;
  return env;
}

export function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Rejects after `ms` with `what` in the message; the timer is cleared when `promise` settles first. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Children of `pid` whose command line mentions kinesis-local, from /proc (Linux); undefined without /proc. */
export function kinesisLocalChildrenOf(pid: number): number[] | undefined {
  if (!fs.existsSync('/proc/self/status')) return undefined;
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = /^PPid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1];
      if (Number(ppid) === pid && fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('kinesis-local')) found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}


/**
 * Collects a child's stdout lines and resolves when one matches. `from` skips the lines collected before that
 * index (e.g. everything before an event the line must follow). A wait that times out names the pattern and
 * shows the last lines as they were at the timeout.
 */
export function lineWatcher(child: ChildProcess): { lines: string[]; waitFor(pattern: RegExp, ms: number, from?: number): Promise<string> } {
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  let buffered = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.pattern.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  return {
    lines,
    waitFor(pattern: RegExp, ms: number, from = 0): Promise<string> {
      const seen = lines.slice(from).find((l) => pattern.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise<string>((resolve, reject) => {
        const waiter = {
          pattern,
          resolve: (line: string) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no line matching ${pattern} within ${ms} ms; the last lines of stdout:\n${lines.slice(-60).join('\n')}`));
        }, ms);
        waiters.push(waiter);
      });
    },
  };
}
