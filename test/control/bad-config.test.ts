// Config that would produce broken answers (issue 22, finding 10), over the
// admin API on real sockets: each is refused with a 400 naming its path and the
// running revision stays. A secret file with a trailing newline is what the
// user meant (trimmed); one with a line break inside is refused at apply time,
// naming the reference, never the value. A static answer a valid config gives
// stays framed on a keep-alive socket with pipelined requests.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { startJunction, type Junction } from '../../src/app.js';
import { checkConfigText } from '../../src/config/load.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { twoTargets } from './configs.js';

const TOKEN = 'test-admin-token-bad-config';
const KEY = 'sk-bad-config-7e21';
let ok: Upstream;
let keyed: Upstream;
let failing: Upstream;
let j: Junction;
let admin: string;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'junction-bad-config-'));
  ok = await startUpstream('ok');
  // Answers only a caller with exactly `Bearer KEY`, as a hosted API would.
  keyed = await startUpstream('keyed');
  keyed.handle((req, res) => {
    const good = req.headers.authorization === `Bearer ${KEY}`;
    res.writeHead(good ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify(good ? { served: 'keyed' } : { error: 'bad key' }));
  });
  failing = await startUpstream('failing');
  failing.handle((_req, res) => {
    res.writeHead(500);
    res.end('down');
  });
  j = await startJunction({
    config: twoTargets(ok.url, ok.url),
    port: 0,
    control: { data: ':memory:', admin: { port: 0, token: TOKEN } },
    log: { error() {}, warn() {}, info() {} },
  });
  admin = j.control!.adminUrl!;
});
afterAll(async () => {
  await j.close();
  await Promise.all([ok.close(), keyed.close(), failing.close()]);
  rmSync(dir, { recursive: true, force: true });
});

async function put(body: unknown, query = '') {
  const res = await request(`${admin}/admin/config${query}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, text, json: JSON.parse(text) as Record<string, any> };
}

async function live(): Promise<number> {
  return j.runtime.current!.number;
}

async function serve(objective = 'cw') {
  const res = await request(`${j.url}/v1/objectives/${objective}`, { method: 'POST', body: '{}' });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/** A config over `ok` with `extra` merged into objective cw. */
function withObjective(extra: Record<string, unknown>) {
  return twoTargets(ok.url, ok.url, 'm@2', extra);
}

function keyedConfig(authorization: string) {
  const config = twoTargets(ok.url, keyed.url, 'm@2');
  (config.models.m.versions['2'].backend as Record<string, unknown>).headers = { authorization };
  return config;
}

describe('PUT /admin/config refuses config that would produce broken answers', () => {
  const metadataPath = 'models.m.versions.1.metadata';
  const cases: [string, () => unknown, string][] = [
    [
      'a 1xx static status',
      () => withObjective({ policy: { static: { status: 101 } } }),
      'objectives.cw.policy.static.status',
    ],
    [
      'a static content-length that does not match the body',
      () => withObjective({ policy: { static: { status: 200, headers: { 'content-length': '2' }, body: 'hello' } } }),
      'objectives.cw.policy.static.headers.content-length',
    ],
    [
      'a rule id with non-ASCII characters',
      () => withObjective({ rules: [{ id: 'règle-✓', when: {}, use: 'm@1' }] }),
      'objectives.cw.rules[0].id',
    ],
    ['deeply nested metadata, as JSON text deeper than any recursive walk copes with', deepMetadataText, metadataPath],
  ];

  it.each(cases)('%s: 400 naming the path, the running revision stays', async (_name, make, path) => {
    const before = await live();
    const body = make();
    for (const query of ['?dryRun=true', '']) {
      const r = await put(body, query);
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe('invalid_request');
      expect(r.json.error.issues.map((i: { path: string }) => i.path)).toContain(path);
    }
    expect(await live()).toBe(before);
    expect((await serve()).status).toBe(200);
  });

  it('a secret file with a line break inside is refused at apply time, naming the path and the reference, never the value', async () => {
    const before = await live();
    writeFileSync(join(dir, 'split.txt'), `${KEY}\nx-injected: 1\n`);
    const ref = `\${file:${join(dir, 'split.txt')}}`;
    const r = await put(keyedConfig(`Bearer ${ref}`));
    expect(r.status).toBe(400);
    expect(r.json.error.issues).toEqual([
      {
        path: 'models.m.versions.2.backend.headers.authorization',
        message: expect.stringContaining(`the value of ${ref} has a line feed (\\n) once resolved`),
      },
    ]);
    expect(r.text).not.toContain(KEY);
    expect(r.text).not.toContain('x-injected');
    expect(await live()).toBe(before);
    expect((await serve()).status).toBe(200);
  });
});

describe('PUT /admin/config answers the report junction validate prints (issue 27 item 3)', () => {
  // Schema and semantic problems in one config text: the 400 lists every one, each at its line and column.
  const yamlText = () =>
    [
      'models:',
      '  m:',
      '    class: scorer',
      '    versions:',
      `      "1": { backend: { type: http, endpoints: ["${ok.url}"] } }`,
      '      "2": { backend: { type: htp } }',
      'objectives:',
      '  cw:',
      '    default: m@9',
      '    policy: { timeoutMs: fast }',
      '    rules: [{ when: {}, use: nope@1 }]',
      '',
    ].join('\n');

  it.each([
    ['YAML', yamlText],
    ['JSON', () => JSON.stringify(parseDocument(yamlText()).toJS(), null, 2)],
  ])('%s: 400 with every issue placed in the body, dry run or not; the running revision stays', async (_n, make) => {
    const before = await live();
    const text = make();
    const expected = checkConfigText(text).issues;
    expect(expected.map((i) => i.path)).toEqual([
      'models.m.versions.2.backend.type',
      'objectives.cw.default',
      'objectives.cw.policy.timeoutMs',
      'objectives.cw.rules[0].use',
    ]);
    for (const query of ['?dryRun=true', '']) {
      const r = await put(text, query);
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe('invalid_request');
      expect(r.json.error.issues).toEqual(expected);
      for (const issue of r.json.error.issues as { line: number; column: number }[]) {
        expect(issue.line).toBeGreaterThan(0);
        expect(issue.column).toBeGreaterThan(0);
      }
    }
    expect(await live()).toBe(before);
    expect((await serve()).status).toBe(200);
  });

  it('a key written twice in JSON is refused (JSON.parse alone would keep the last one silently)', async () => {
    const before = await live();
    const config = JSON.stringify(twoTargets(ok.url, ok.url));
    const text = config.replace('"objectives":{', '"objectives":{"cw":{"default":"m@2"},');
    const r = await put(text);
    expect(r.status).toBe(400);
    expect(r.json.error.issues).toEqual([
      {
        path: 'objectives',
        message: expect.stringMatching(/^key "cw" is written twice/),
        line: 1,
        column: text.lastIndexOf('"cw"') + 1,
      },
    ]);
    expect(await live()).toBe(before);
  });
});

describe('secrets as users write them', () => {
  it('a key file ending in a newline (echo key > file), or in CRLF and spaces, sends the key itself', async () => {
    for (const content of [`${KEY}\n`, `  ${KEY}\r\n\n`]) {
      writeFileSync(join(dir, 'key.txt'), content);
      const r = await put(keyedConfig(`Bearer \${file:${join(dir, 'key.txt')}}`));
      expect(r.status, r.text).toBe(200);
      const res = await serve();
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ served: 'keyed' });
      expect(keyed.received.at(-1)!.headers.authorization).toBe(`Bearer ${KEY}`);
      // The next apply must change something to be a new revision.
      expect((await put(twoTargets(ok.url, ok.url))).status).toBe(200);
    }
  });
});

describe('a static answer on a keep-alive socket', () => {
  it('stays framed: both pipelined responses arrive whole, for a JSON answer, a text answer and a 204', async () => {
    for (const policy of [
      {
        static: { status: 503, headers: { 'Content-Type': 'application/json', 'retry-after': '1' }, body: { a: [1] } },
      },
      { static: { status: 200, body: 'sorry, try later' } },
      { static: { status: 204 } },
    ]) {
      const config = twoTargets(failing.url, failing.url, 'm@1', { policy });
      const r = await put(config);
      expect(r.status, r.text).toBe(200);
      const head = (last: boolean) =>
        `POST /v1/objectives/cw HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n${last ? 'connection: close\r\n' : ''}\r\n{}`;
      const raw = await exchange(new URL(j.url), head(false) + head(true));
      const replies = parseResponses(raw);
      expect(replies, raw).toHaveLength(2);
      const expected = policy.static.status;
      for (const reply of replies) {
        expect(reply.status).toBe(expected);
        expect(reply.headers['x-fallback']).toBe('static');
        expect(reply.headers['content-type'] ?? '').not.toContain(',');
        if (expected === 204) expect(reply.body).toBe('');
        else
          expect(reply.body).toBe(
            typeof policy.static.body === 'string' ? policy.static.body : JSON.stringify(policy.static.body),
          );
      }
    }
  });
});

/** Version 1's metadata nested 100,000 levels deep, as JSON text (JSON.stringify itself would overflow). */
function deepMetadataText(): string {
  const config = twoTargets(ok.url, ok.url, 'm@2');
  (config.models.m.versions['1'] as Record<string, unknown>).metadata = { x: '__DEEP__' };
  const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
  return JSON.stringify(config).replace('"__DEEP__"', deep);
}

function exchange(url: URL, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let out = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (out += d));
    socket.on('error', reject);
    socket.on('close', () => resolve(out));
    socket.setTimeout(5000, () => socket.destroy());
    socket.write(text);
  });
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Splits what came back into responses by their own framing (content-length or chunked). */
function parseResponses(raw: string): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = raw;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) throw new Error(`a response head without its end: ${JSON.stringify(rest.slice(0, 200))}`);
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const status = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine!);
    if (!status) throw new Error(`not a status line: ${JSON.stringify(statusLine)}`);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const i = line.indexOf(':');
      const name = line.slice(0, i).toLowerCase();
      headers[name] =
        headers[name] === undefined ? line.slice(i + 1).trim() : `${headers[name]}, ${line.slice(i + 1).trim()}`;
    }
    rest = rest.slice(end + 4);
    let body = '';
    const code = Number(status[1]);
    if (code === 204 || code === 304) {
      // no content, whatever the headers say
    } else if (headers['transfer-encoding'] === 'chunked') {
      for (;;) {
        const eol = rest.indexOf('\r\n');
        const size = parseInt(rest.slice(0, eol), 16);
        rest = rest.slice(eol + 2);
        if (size === 0) {
          rest = rest.slice(2);
          break;
        }
        body += rest.slice(0, size);
        rest = rest.slice(size + 2);
      }
    } else {
      const length = Number(headers['content-length'] ?? 0);
      body = rest.slice(0, length);
      rest = rest.slice(length);
    }
    out.push({ status: code, headers, body });
  }
  return out;
}
