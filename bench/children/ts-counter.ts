#!/usr/bin/env node
/**
 * The benchmark's TypeScript child: the in-process runs' counting processor (parse every record as JSON,
 * checkpoint every batch) under `runChildProcessor`, as a user's processor runs with `kcl-ts/child`. It runs
 * under any MultiLangDaemon (`executableName = node dist/bench/children/ts-counter.js`).
 */
import { runChildProcessor } from '../../src/child.js';
import { countingProcessor } from '../counting-processor.js';

await runChildProcessor(countingProcessor());
