/**
 * One emulator in a process of its own, so a benchmark's CPU figures never include it:
 *
 *   node dist/bench/emulator-process.js kinesalite|dynalite
 *
 * Listens on 127.0.0.1 only (kinesalite's CLI would bind every interface), prints `{"port":N}` on stdout once
 * listening, and exits when its stdin closes, which also happens when the parent dies.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';

type Factory = (options: Record<string, unknown>) => http.Server;
const requireHere = createRequire(import.meta.url);
const which = process.argv[2];

const server =
  which === 'kinesalite'
    ? (requireHere('kinesalite') as Factory)({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 1000 })
    : which === 'dynalite'
      ? (requireHere('dynalite') as Factory)({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
      : undefined;
if (!server) {
  process.stderr.write('usage: emulator-process.js kinesalite|dynalite\n');
  process.exit(2);
}
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
