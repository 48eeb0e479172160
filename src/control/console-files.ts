// Serves the console (SPEC §11) at /ui/ on the admin port: the files esbuild
// wrote to dist/console at build time (scripts/build-console.ts), never
// anything from a network. The files are public (the page asks for the admin
// token and sends it only on /admin/ calls), so they are answered before the
// admin API's auth check.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** <package>/dist/console, from src/control (tsx, tests) and dist/control (the package) alike. */
export const CONSOLE_DIR = fileURLToPath(new URL('../../dist/console/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const HEADERS = {
  // Everything comes from this origin; no inline script, no framing.
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/**
 * The console's icon, kept here rather than in the build so that /favicon.ico
 * (which browsers ask for on any admin page, before any token) answers it too:
 * otherwise that request meets the admin API's auth check and the browser's
 * console shows a 401 on every load.
 */
export const FAVICON_SVG = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">' +
    '<rect width="32" height="32" rx="6" fill="#24292f"/>' +
    '<path d="M6 16h8l6-8h6M14 16l6 8h6" stroke="#fff" stroke-width="3" fill="none" stroke-linecap="round"/>' +
    '</svg>',
);

/** True when it answered (a /ui path or /favicon.ico), false for the admin API to handle. */
export type ConsoleHandler = (req: IncomingMessage, res: ServerResponse, pathname: string) => boolean;

export function consoleFiles(dir = CONSOLE_DIR): ConsoleHandler {
  // Files are kept once read; a missing one is looked for again (a build may still be coming).
  const cache = new Map<string, Buffer>();
  const read = (name: string): Buffer | null => {
    let body = cache.get(name);
    if (!body) {
      try {
        body = readFileSync(join(dir, name));
        cache.set(name, body);
      } catch {
        return null;
      }
    }
    return body;
  };
  return (req, res, pathname) => {
    const icon = pathname === '/favicon.ico' || pathname === '/ui/favicon.svg';
    if (!icon && pathname !== '/ui' && !pathname.startsWith('/ui/')) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('the console is read with GET\n');
      return true;
    }
    if (pathname === '/ui') {
      res.writeHead(308, { location: '/ui/' }).end();
      return true;
    }
    if (icon) {
      res.writeHead(200, { ...HEADERS, 'content-type': TYPES['.svg']!, 'content-length': FAVICON_SVG.length });
      res.end(req.method === 'HEAD' ? undefined : FAVICON_SVG);
      return true;
    }
    const name = pathname === '/ui/' ? 'index.html' : pathname.slice('/ui/'.length);
    // Only the flat file names the build writes: no traversal, no listing.
    const body = /^[\w-]+\.(html|js|css|svg)$/.test(name) ? read(name) : null;
    if (!body) {
      const missing = name === 'index.html';
      res
        .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        .end(missing ? 'the console is not built: run "npm run build" in the Junction package\n' : 'not found\n');
      return true;
    }
    res.writeHead(200, { ...HEADERS, 'content-type': TYPES[extname(name)]!, 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}
