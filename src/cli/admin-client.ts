// The CLI's side of the admin API: one request function that turns every
// failure into a one-line, actionable UserError (exit 1), or an internal
// error (exit 2) when the server itself broke.
import { hostname, userInfo } from 'node:os';
import { request } from 'undici';
import { UserError } from './user-error.js';

export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:8081';

/** Options every admin command takes. */
export const ADMIN_OPTIONS = {
  admin: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export interface AdminTarget {
  url: string;
  token: string | undefined;
}

export function adminTarget(flag: string | undefined): AdminTarget {
  const url = (flag ?? process.env.JUNCTION_ADMIN_URL ?? DEFAULT_ADMIN_URL).replace(/\/+$/, '');
  return { url, token: process.env.JUNCTION_ADMIN_TOKEN || undefined };
}

/** Who made a change, as recorded in the revision. */
export function whoAmI(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return 'cli';
  }
}

interface ErrorShape {
  error?: { code?: string; message?: string; issues?: Array<{ path: string; message: string }> };
}

/** A config document sent as written (YAML or JSON text), so the revision keeps its comments and order. */
export class ConfigText {
  constructor(readonly text: string) {}
}

/**
 * The admin API refused who we are (401) or this request (403): retrying cannot help, so
 * a command that follows the API (`export nginx --watch`) stops on it instead.
 */
export class AdminAuthError extends UserError {}

export async function adminCall<T>(
  target: AdminTarget,
  method: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<T> {
  let res;
  try {
    res = await request(`${target.url}${path}`, {
      method: method as 'GET',
      signal,
      headers: {
        ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
        // The admin API refuses a change that is not JSON, body or not (a form from another page could send it).
        ...(body instanceof ConfigText
          ? { 'content-type': 'application/yaml' } // JSON is YAML: the server parses either
          : body !== undefined || method !== 'GET'
            ? { 'content-type': 'application/json' }
            : {}),
      },
      body: body === undefined ? undefined : body instanceof ConfigText ? body.text : JSON.stringify(body),
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
    });
  } catch (err) {
    const code = (err as { code?: string }).code ?? (err as Error).message;
    throw new UserError(
      `cannot reach the admin API at ${target.url} (${code}): start Junction with "junction serve --config FILE" ` +
        'and JUNCTION_ADMIN_TOKEN set, or point --admin at a running one',
    );
  }
  const text = await res.body.text();
  let value: unknown;
  try {
    value = text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new Error(`admin API at ${target.url} answered ${res.statusCode} with a body that is not JSON`);
  }
  if (res.statusCode < 400) return value as T;
  const e = (value as ErrorShape | undefined)?.error;
  if (res.statusCode === 401) {
    throw new AdminAuthError(
      target.token
        ? `unauthorized (HTTP 401): the admin API at ${target.url} refused the token: set JUNCTION_ADMIN_TOKEN to the token the server was started with`
        : `unauthorized (HTTP 401): the admin API at ${target.url} needs a token: set JUNCTION_ADMIN_TOKEN to the server's token`,
    );
  }
  if (res.statusCode === 403) {
    // The server's message names the fix (an --admin-allowed-host, the content type, the key's objectives).
    throw new AdminAuthError(
      `unauthorized (HTTP 403): the admin API at ${target.url} refused the request: ${e?.message ?? 'forbidden'}`,
    );
  }
  if (res.statusCode >= 500 && e?.code === 'internal') throw new Error(`admin API failed: ${e.message}`);
  const issues = e?.issues?.length ? `\n${e.issues.map((i) => `${i.path}: ${i.message}`).join('\n')}` : '';
  throw new UserError(
    `${issues ? (e?.message ?? '').split('\n')[0] : (e?.message ?? `HTTP ${res.statusCode}`)}${issues}`,
  );
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function indent(lines: readonly string[]): string {
  return lines.map((l) => `  ${l}\n`).join('');
}
