/**
 * `kcl multilang`: the drop-in MultiLangDaemon. Same CLI forms as the Java daemon
 * (`--properties-file FILE`, `-p FILE`, or one positional FILE; `--log-configuration` accepted and ignored).
 */
import type { Command } from 'commander';
import { createLogger } from '../../common/logger.js';
import { createMultiLangWorker } from '../../multilang/daemon.js';
import { loadDaemonProperties } from '../../multilang/daemon-config.js';

interface MultiLangOptions {
  propertiesFile?: string;
  logConfiguration?: string;
}

export function registerMultiLang(program: Command): void {
  program
    .command('multilang')
    .description('Run the MultiLangDaemon: one child process per shard (executableName) speaking the multi-language protocol')
    .argument('[file]', 'the properties file (same as --properties-file)')
    .option('-p, --properties-file <file>', 'the properties file (the Java daemon\'s keys)')
    .option('-l, --log-configuration <file>', 'accepted for compatibility with the Java daemon and ignored (set KCL_LOG_LEVEL)')
    .action(async (file: string | undefined, opts: MultiLangOptions) => {
      const logger = createLogger({ pretty: process.stderr.isTTY });
      if (file && opts.propertiesFile && file !== opts.propertiesFile) logger.warn({ positional: file, option: opts.propertiesFile }, '--properties-file overrides the positional file');
      const propertiesFile = opts.propertiesFile ?? file;
      if (!propertiesFile) throw new Error('a properties file is required: kcl multilang --properties-file app.properties');
      if (opts.logConfiguration) logger.info({ file: opts.logConfiguration }, '--log-configuration is ignored; use KCL_LOG_LEVEL');
      const { config, daemon } = await loadDaemonProperties(propertiesFile, { onWarning: (message) => logger.warn(message) });
      const worker = createMultiLangWorker({ config, daemon, logger });
      let signals = 0;
      const stopped = new Promise<void>((resolve) => {
        const onSignal = (sig: NodeJS.Signals) => {
          signals++;
          if (signals > 1) {
            logger.warn(`${sig} again: exiting now; children are killed and leases left to expire`);
            process.exit(1);
          }
          logger.info(`${sig}: shutting down gracefully (shutdownRequested to every child, checkpoints, leases released)`);
          void worker.shutdown().then(resolve, resolve);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
      await worker.start();
      logger.info({ stream: config.streamName, application: config.applicationName, executable: daemon.executableName, workerId: config.workerId }, 'MultiLangDaemon running');
      await stopped;
    });
}
