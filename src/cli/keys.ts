// `junction keys new [--name CLIENT]`: prints a new API key once, and the
// SHA-256 digest that goes in the config. Junction never stores the key.
import { parseArgs } from 'node:util';
import { keyDigest, newKey } from '../tenancy/keys.js';
import { UserError } from './user-error.js';

export async function keysCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'new') throw new UserError('usage: junction keys new [--name CLIENT] [--json]');
  const { values } = parseArgs({ args: rest, options: { name: { type: 'string' }, json: { type: 'boolean' } } });
  const name = values.name ?? 'my-client';
  const key = newKey();
  const digest = keyDigest(key);
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ client: name, key, keySha256: digest, config: { clients: { [name]: { keySha256: digest, objectives: ['*'] } } } }, null, 2)}\n`,
    );
    return 0;
  }
  process.stdout.write(
    `key:       ${key}\n` +
      `keySha256: ${digest}\n\n` +
      '# Give the key to the client (it is shown only now); put the digest in the config:\n' +
      `clients:\n  ${name}: { keySha256: "${digest}", objectives: ["*"] }\n`,
  );
  return 0;
}
