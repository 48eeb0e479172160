// The admin API as the console calls it: every call is a documented
// endpoint (docs/admin-api.md). The token lives in sessionStorage only, so it
// is gone when the browser session ends and never appears in a URL.
const TOKEN_KEY = 'junction.adminToken';

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code ?? 'http_error';
    this.issues = body?.error?.issues ?? [];
  }
}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (t) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** One admin API call; JSON in and out unless `text` is given (a YAML body). */
export async function call(method, path, { json, text } = {}) {
  const headers = { accept: 'application/json' };
  const t = token.get();
  if (t) headers.authorization = `Bearer ${t}`;
  let body;
  if (json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (text !== undefined) {
    headers['content-type'] = 'application/yaml';
    body = text;
  } else if (method !== 'GET') {
    headers['content-type'] = 'application/json'; // the admin API refuses a change that is not JSON, body or not
  }
  const res = await fetch(path, { method, headers, body, cache: 'no-store' });
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const get = (path) => call('GET', path);
export const enc = encodeURIComponent;
