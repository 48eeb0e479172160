import { describe, expect, it } from 'vitest';
import { Router, splitPath } from './router.js';

const routes = [
  { methods: ['POST'], pattern: '/v1/objectives/:objective', name: 'objective' },
  { methods: ['POST'], pattern: '/v2/models/:model/infer', name: 'infer' },
  { methods: ['GET'], pattern: '/v2/models/:model/ready', name: 'ready' },
];

describe('Router', () => {
  it('decodes parameters, and tells a wrong method (with the methods that would do) from no route', () => {
    const r = new Router(routes);
    expect(r.match('POST', '/v1/objectives/support%2Dchat')).toMatchObject({
      route: { name: 'objective' },
      params: { objective: 'support-chat' },
    });
    expect(r.match('GET', '/v1/objectives/x')).toMatchObject({ route: undefined, allowed: ['POST'] });
    expect(r.match('GET', '/v1/nothing/here')).toMatchObject({ route: undefined, allowed: [] });
    expect(r.match('POST', '/v1/objectives/')).toMatchObject({ route: undefined }); // an empty parameter matches nothing
  });

  it('a malformed escape is a 400 only on a route whose literal segments all matched; elsewhere it is no route', () => {
    const r = new Router(routes);
    expect(() => r.match('POST', '/v2/models/%ZZ/infer')).toThrow(expect.objectContaining({ code: 'invalid_request' }));
    expect(r.match('POST', '/v2/models/%ZZ/nope')).toMatchObject({ route: undefined, allowed: [] });
  });
});

describe('splitPath', () => {
  it("splits exactly as String#split('/') does, empty segments and all", () => {
    const paths = ['', '/', '//', 'a', '/a', 'a/', '/a/b', '/v1/objectives/cw', '/a//b/', 'no-slash', '///x///'];
    for (const p of paths) expect(splitPath(p), JSON.stringify(p)).toEqual(p.split('/'));
  });
});
