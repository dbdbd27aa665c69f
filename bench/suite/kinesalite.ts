/**
 * kinesalite in a process of its own, bound to 127.0.0.1, so its CPU is never charged to a consumer and the
 * benchmark does not share a thread with it. kinesalite's CLI binds every interface; its programmatic API does
 * not have to, which is why this file is both the launcher and (run directly) the server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { forEachLine } from '../../src/common/lines.js';

export interface Kinesalite {
  endpoint: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startKinesalite(shardLimit: number): Promise<Kinesalite> {
  const child: ChildProcess = spawn(process.execPath, [fileURLToPath(import.meta.url), String(shardLimit)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`kinesalite exited before listening (code ${code})`)));
    forEachLine(child.stdout!, (line) => {
      const m = /^listening (\d+)$/.exec(line);
      if (m) resolve(Number(m[1]));
    });
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function serve(shardLimit: number): Promise<void> {
  const require = createRequire(import.meta.url);
  // Lifts kinesalite's 16 KB cut of CBOR answers (bench/kinesalite-cbor.cjs), so the Worker can run over CBOR too.
  require(fileURLToPath(new URL('../../../bench/kinesalite-cbor.cjs', import.meta.url)));
  const kinesalite = require('kinesalite') as (options: Record<string, unknown>) => Server;
  const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  console.log(`listening ${(server.address() as AddressInfo).port}`);
  process.once('SIGTERM', () => process.exit(0));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await serve(Number(process.argv[2] ?? 100));
