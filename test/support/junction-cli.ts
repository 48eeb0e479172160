// Runs the CLI from source, for tests that spawn real Junction processes:
//   node --import tsx test/support/junction-cli.ts serve …
import { main } from '../../src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`junction: internal error: ${String((err as Error)?.stack ?? err)}`);
    process.exitCode = 2;
  },
);
