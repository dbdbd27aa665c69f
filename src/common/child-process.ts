/**
 * Owning a child process: knowing when it has gone (exit, or a spawn that failed), stopping it in order
 * (SIGTERM, then SIGKILL after a grace period) and making sure it never outlives this process. Used by
 * local/ (kinesis-local) and multilang/ (one child per shard).
 */
import type { ChildProcess } from 'node:child_process';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the program could not be started at all. */
  error?: Error;
}

/** Settles when the child has exited, or at once if it could not be started (which emits 'error', not 'exit'). */
export function whenExited(child: ChildProcess): Promise<ChildExit> {
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => {
      if (child.pid === undefined) resolve({ code: null, signal: null, error });
    });
  });
}

/** Resolves true if `promise` settled within `ms`, false otherwise; the timer never outlives the call. */
export async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const, () => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null && child.pid !== undefined;
}

/**
 * SIGTERM, then SIGKILL if the child is still there after `graceMillis`. Resolves false if it survived even
 * that (for `killWaitMillis`), so the caller can say so.
 */
export async function terminate(child: ChildProcess, exited: Promise<ChildExit>, graceMillis: number, killWaitMillis = 5_000): Promise<boolean> {
  if (!running(child)) return true;
  child.kill('SIGTERM');
  if (await within(exited, graceMillis)) return true;
  child.kill('SIGKILL');
  return within(exited, killWaitMillis);
}

const owned = new Set<ChildProcess>();

/** The child is SIGKILLed if this process exits first, however it exits (short of SIGKILL itself). */
export function killOnProcessExit(child: ChildProcess): void {
  if (owned.size === 0) process.once('exit', killOwned);
  owned.add(child);
  child.once('exit', () => {
    owned.delete(child);
    if (owned.size === 0) process.off('exit', killOwned);
  });
}

function killOwned(): void {
  for (const child of owned) child.kill('SIGKILL');
}
