import { parseArgs } from 'node:util';
import { checkModelFiles } from '../backends/onnx/check-models.js';
import { ConfigError } from '../config/issues.js';
import { loadConfigFile } from '../config/load.js';
import { UserError } from './user-error.js';

export async function validateCommand(args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const file = positionals[0];
  if (!file) throw new UserError('name the config file: junction validate FILE');
  const { config, baseDir } = loadConfigFile(file); // throws ConfigError listing every problem → exit 1
  const modelIssues = await checkModelFiles(config, baseDir);
  if (modelIssues.length > 0) throw new ConfigError(modelIssues, file);
  const objectives = Object.keys(config.objectives).length;
  const targets = Object.values(config.models).reduce((n, m) => n + Object.keys(m.versions).length, 0);
  process.stdout.write(`${file}: valid (${objectives} objective${objectives === 1 ? '' : 's'}, ${targets} target${targets === 1 ? '' : 's'})\n`);
  return 0;
}
