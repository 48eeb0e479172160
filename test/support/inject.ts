// undici's `request(url, opts)` as the tests call it, answered by
// junction.inject: a test whose subject is not the network converts by taking
// `request` from here (and starting its Junction with `listen: false`).
import type { IncomingHttpHeaders } from 'node:http';
import type { Junction } from '../../src/app.js';

export interface InjectedResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: { text(): Promise<string>; json(): Promise<unknown> };
}

export interface InjectedOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** `request(url, opts)` against `junction()` (a getter: the Junction may start later); `url` is its url + path. */
export function injectedRequest(junction: () => Junction) {
  return async (url: string, opts: InjectedOptions = {}): Promise<InjectedResponse> => {
    const j = junction();
    const res = await j.inject({
      method: opts.method ?? 'GET',
      url: url.slice(j.url.length),
      headers: opts.headers,
      body: opts.body,
    });
    return {
      statusCode: res.status,
      headers: res.headers,
      body: { text: async () => res.body, json: async () => res.json() },
    };
  };
}

/** `fetch(url, init)` against `junction()`, answered by junction.inject as a WHATWG Response (a stream is collected whole). */
export function injectedFetch(junction: () => Junction) {
  return async (
    url: string,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ): Promise<Response> => {
    const j = junction();
    const res = await j.inject({
      method: init.method ?? 'GET',
      url: url.slice(j.url.length),
      headers: init.headers,
      body: init.body,
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) headers.append(name, String(v));
    }
    const empty = res.status === 204 || res.status === 304 || (init.method ?? 'GET') === 'HEAD';
    return new Response(empty ? null : new Uint8Array(res.rawBody), { status: res.status, headers });
  };
}
