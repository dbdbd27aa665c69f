/**
 * dynalite in a process of its own for bench/lease-scale.ts, so the emulator's CPU is never counted as the
 * workers'. Prints `port <n>` once listening; exits when its stdin closes (the bench ended or died) or on SIGTERM.
 *
 *   node dist/bench/lease-scale/dynalite-server.js
 */
import { silentLogger } from '../../src/common/logger.js';
import { startDynalite } from '../../src/local/stack.js';

const server = await startDynalite(undefined, silentLogger);
process.stdout.write(`port ${server.port}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.once('SIGTERM', stop);
