#!/usr/bin/env node
// The published entry point runs the compiled CLI; `npm install` builds it (the `prepare` script).
import { main } from '../dist/cli/main.js';

// A crash while serving is Junction's fault, never the user's: exit 2 (SPEC §7),
// which is also how `--workers` tells a crashed worker (restart it) from one that
// refused to start on a user error (exit 1).
const crash = (err) => {
  console.error(`junction: internal error: ${err?.stack ?? err}`);
  process.exit(2);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

main(process.argv.slice(2)).then((code) => {
  if (code !== undefined) process.exitCode = code;
}, crash);
