/**
 * One emulator in a process of its own, so a benchmark's CPU figures never include it and the consumer does not
 * share a thread with it. Every benchmark starts its emulators through `startEmulator`.
 *
 * Run directly (`node dist/bench/emulator-process.js kinesalite|dynalite`), it listens on 127.0.0.1 only
 * (kinesalite's CLI would bind every interface), prints `{"port":N}` once listening, and exits when its stdin
 * closes, which also happens when the parent dies. kinesalite gets bench/kinesalite-cbor.cjs first: without it
 * its CBOR answers are cut at 16 KB.
 */
import { spawn } from 'node:child_process';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { forEachLine } from '../src/common/lines.js';

export type EmulatorName = 'kinesalite' | 'dynalite';

export interface EmulatorProcess {
  endpoint: string;
  pid: number;
  /** Closes its stdin and waits until it has exited. */
  stop(): Promise<void>;
}

export async function startEmulator(which: EmulatorName): Promise<EmulatorProcess> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), which], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    void exited.then(() => reject(new Error(`${which} exited before it listened`)));
    forEachLine(child.stdout!, (line) => resolve((JSON.parse(line) as { port: number }).port));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      child.stdin!.end();
      await exited;
    },
  };
}

type Factory = (options: Record<string, unknown>) => http.Server;

function serve(which: string | undefined): void {
  const requireHere = createRequire(import.meta.url);
  let server: http.Server;
  if (which === 'kinesalite') {
    requireHere(fileURLToPath(new URL('../../bench/kinesalite-cbor.cjs', import.meta.url)));
    server = (requireHere('kinesalite') as Factory)({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 5000 });
  } else if (which === 'dynalite') {
    server = (requireHere('dynalite') as Factory)({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  } else {
    process.stderr.write('usage: emulator-process.js kinesalite|dynalite\n');
    process.exit(2);
  }
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`));
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) serve(process.argv[2]);
