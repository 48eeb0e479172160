// The nginx the edge tests run: where it is installed (a test is skipped
// without it, unless JUNCTION_REQUIRE_SERVICES=1 says it must be there), and
// the main config that wraps what `junction export nginx` writes, with every
// file nginx keeps under the test's own directory.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nginxMainConfig } from '../../bench/tools.js';

export const NGINX = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
if (NGINX === undefined && process.env.JUNCTION_REQUIRE_SERVICES === '1')
  throw new Error('JUNCTION_REQUIRE_SERVICES=1: nginx is not installed (apt-get install nginx-light)');

/** Writes `dir`/nginx.conf (the benches' main config: one worker, its pid, logs and temp files under `dir`), `include`ing the exported `conf`. */
export function writeNginxMain(dir: string, conf: string): string {
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, nginxMainConfig(dir, 'nginx', `  include ${conf};`));
  return file;
}
