// What a browser could send the admin API without the operator meaning it
// (issue 22, finding 6), refused before routing in every mode, token or
// --insecure-admin (docs/admin-api.md, "Browsers and other origins"):
//
// - DNS rebinding: a page on evil.example whose name is made to resolve to
//   127.0.0.1 talks to the admin port "same-origin", with `Host:
//   evil.example:8081`. The admin API answers only a Host that is an IP
//   address, `localhost`, or a name the operator listed (serve
//   --admin-allowed-host NAME; the --admin-host it binds to counts too).
// - Another origin: a request whose `Sec-Fetch-Site` is present and not
//   `same-origin`/`none` (typed URL, bookmark), or whose `Origin` is present and
//   not this listener's own (`http(s)://` + its Host), is refused. Other local
//   ports are other origins.
// - Forms and "simple" cross-origin requests: a request that may change
//   something (any method but GET and HEAD) must say `content-type:
//   application/json` (or application/yaml for a config document). A browser
//   sends another origin's JSON only after a CORS preflight, which the admin API
//   never answers with an allow header; forms can send only
//   urlencoded/multipart/text-plain.
//
// The console's own files (GET/HEAD under /ui) are exempt from the origin check
// so a link to the console still opens it: they are static and public, and
// their CSP forbids framing; every API call the page then makes is same-origin.
import type { IncomingMessage } from 'node:http';
import { JunctionError } from '../errors.js';

const SAME: ReadonlySet<string> = new Set(['same-origin', 'none']);
const BODY_TYPES: ReadonlySet<string> = new Set(['application/json', 'application/yaml', 'application/x-yaml']);
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;
const IPV6 = /^\[[0-9a-f:.]+\]$/i;

export type AdminOriginCheck = (req: IncomingMessage, path: string) => void;

/** `host[:port]` → the lowercase host name (IPv6 keeps its brackets); undefined when malformed. */
function hostName(host: string): string | undefined {
  const m = /^(\[[^\]]*\]|[^:[\]]+)(?::\d{1,5})?$/.exec(host.trim());
  return m ? m[1]!.toLowerCase() : undefined;
}

/**
 * @param allowedHosts DNS names besides IP addresses and localhost that the
 * admin API answers for (a name behind a load balancer, the --admin-host it binds to).
 */
export function adminOriginCheck(allowedHosts: readonly string[] = []): AdminOriginCheck {
  const names = new Set(allowedHosts.map((h) => h.trim().toLowerCase()).filter((h) => h !== ''));
  const hostAllowed = (name: string) => name === 'localhost' || IPV4.test(name) || IPV6.test(name) || names.has(name);
  return (req, path) => {
    const host = req.headers.host;
    if (host !== undefined) {
      const name = hostName(host);
      if (name === undefined || !hostAllowed(name)) {
        throw new JunctionError(
          'forbidden',
          `the admin API does not answer for host "${host.slice(0, 100)}" (a DNS-rebinding guard): reach it by IP address or localhost, or start Junction with --admin-allowed-host NAME`,
        );
      }
    }
    const method = req.method ?? '';
    const safe = method === 'GET' || method === 'HEAD';
    if (safe && (path === '/ui' || path.startsWith('/ui/'))) return;
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && !SAME.has(String(site).toLowerCase())) {
      throw new JunctionError(
        'forbidden',
        `the admin API answers only its own origin (sec-fetch-site: ${String(site).slice(0, 40)}); use the console it serves at /ui/, or the CLI`,
      );
    }
    const origin = req.headers.origin;
    if (origin !== undefined) {
      const m = /^https?:\/\/([^/]+)$/i.exec(origin);
      if (host === undefined || !m || m[1]!.toLowerCase() !== host.trim().toLowerCase()) {
        throw new JunctionError(
          'forbidden',
          `the admin API answers only its own origin, not "${origin.slice(0, 100)}"; use the console it serves at /ui/, or the CLI`,
        );
      }
    }
    if (!safe) {
      const type = String(req.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim()
        .toLowerCase();
      if (!BODY_TYPES.has(type)) {
        throw new JunctionError(
          'forbidden',
          `${method} needs content-type: application/json (or application/yaml for a config), even without a body` +
            `${type ? ` (got "${type.slice(0, 60)}")` : ''}: browsers send forms and simple requests from any page with other types`,
        );
      }
    }
  };
}
