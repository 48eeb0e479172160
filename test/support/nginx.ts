// The nginx the edge tests run: where it is installed (a test is skipped
// without it, unless JUNCTION_REQUIRE_SERVICES=1 says it must be there), and
// the main config that wraps what `junction export nginx` writes, with every
// file nginx keeps under the test's own directory.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const NGINX = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
if (NGINX === undefined && process.env.JUNCTION_REQUIRE_SERVICES === '1')
  throw new Error('JUNCTION_REQUIRE_SERVICES=1: nginx is not installed (apt-get install nginx-light)');

/** Writes `dir`/nginx.conf: one worker, its pid, logs and temp files in `dir`, `include`ing the exported `conf`. */
export function writeNginxMain(dir: string, conf: string): string {
  const file = join(dir, 'nginx.conf');
  writeFileSync(
    file,
    [
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      'events { worker_connections 256; }',
      'http {',
      '  access_log off;',
      `  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;`,
      `  include ${conf};`,
      '}',
      '',
    ].join('\n'),
  );
  return file;
}
