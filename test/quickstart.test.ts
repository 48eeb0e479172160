// The quickstart works offline: examples/quickstart.yaml validates, loads the
// committed models and serves each objective its example request, with the
// experiment and the rollout both sending traffic to both versions.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../src/app.js';
import { REPO_ROOT } from './support/onnx.js';
import { chatStreamText } from './support/sse.js';

let j: Junction;
beforeAll(async () => {
  j = await startJunction({ configFile: join(REPO_ROOT, 'examples/quickstart.yaml'), port: 0 });
});
afterAll(async () => {
  await j?.close();
});

const example = (objective: string) => readFileSync(join(REPO_ROOT, 'examples/requests', `${objective}.json`), 'utf8');

function invoke(objective: string, unit: string): Promise<Response> {
  return fetch(`${j.url}/v1/objectives/${objective}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-unit-id': unit },
    body: example(objective),
  });
}

async function targetsSeen(objective: string): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let u = 0; u < 40; u++) {
    const res = await invoke(objective, `user-${u}`);
    const body = await res.text();
    expect(res.status, body).toBe(200);
    seen.add(res.headers.get('x-model')!);
  }
  return seen;
}

describe('quickstart', () => {
  it('ranks continue-watching candidates, split between ranker@6 and ranker@7 by experiment cw-42', async () => {
    const res = await invoke('continue-watching-ranking', 'user-1');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-decision')).toMatch(/^rule=(experiment:cw-42 cell=[AB]|default) revision=1$/);
    const body = await res.json();
    expect(body.outputs.score).toHaveLength(3);
    expect(await targetsSeen('continue-watching-ranking')).toEqual(new Set(['ranker@6', 'ranker@7']));
  });

  it('labels the example image a square, with shapes@2 rolled out to some units', async () => {
    const res = await invoke('image-labels', 'user-1');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.labels[0].label).toBe('square');
    expect(await targetsSeen('image-labels')).toEqual(new Set(['shapes@1', 'shapes@2']));
  });

  it.each(['/v1/objectives/support-chat', '/v1/chat/completions'])(
    'streams a support answer token by token at %s',
    async (path) => {
      const res = await fetch(`${j.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: example('support-chat'),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-model')).toBe('charlm@1');
      expect(await chatStreamText(res.body!)).toContain('Reset password');
    },
  );
});
