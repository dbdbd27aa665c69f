#!/usr/bin/env node
/**
 * The `kcl` executable: registers the commands (see cli/README.md).
 */
import { Command } from 'commander';
import { registerLocal } from './commands/local.js';
import { registerProduce } from './commands/produce.js';
import { registerStatus } from './commands/status.js';
import { registerDemo } from './commands/demo.js';
import { registerMultiLang } from './commands/multilang.js';

// The SDK's notice about its future Node 22 requirement is not actionable for someone running a demo.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const program = new Command();
program
  .name('kcl')
  .description('Kinesis Client Library for Node.js, no Java needed: local emulators, producer, lease status, demo')
  .showHelpAfterError();

registerLocal(program);
registerProduce(program);
registerStatus(program);
registerDemo(program);
registerMultiLang(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`kcl: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
