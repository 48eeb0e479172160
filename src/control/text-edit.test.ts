import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { editText } from './text-edit.js';

const text = `# Routing for the home page. Owner: ranking team.
models:
  m:
    class: scorer
    versions:
      "1": { backend: { type: http, endpoints: ["http://a:8000"] } }   # the incumbent
      "2": { backend: { type: http, endpoints: ["http://b:8000"] } }
objectives:
  cw:
    default: m@1
    # Canary of m@2, walked by the controller.
    rollout: { candidate: m@2, percent: 5, steps: [5, 25, 100], gates: { maxErrorRate: 0.01 } }
  other:
    default: m@1
`;

describe('editText', () => {
  it("sets only what changed: the author's comments and key order survive a rollout step", () => {
    const before = parse(text) as { objectives: { cw: { rollout: { percent: number } } } };
    const after = structuredClone(before);
    after.objectives.cw.rollout.percent = 25;
    const edited = editText(text, before, after)!;
    expect(parse(edited)).toEqual(after);
    expect(edited).toContain('# Routing for the home page. Owner: ranking team.');
    expect(edited).toContain('# the incumbent');
    expect(edited).toContain('# Canary of m@2, walked by the controller.');
    expect(edited.indexOf('cw:')).toBeLessThan(edited.indexOf('other:'));
  });

  it('removes and adds keys (a promote: the rollout gone, the default moved)', () => {
    const before = parse(text) as Record<string, any>;
    const after = structuredClone(before);
    delete after.objectives.cw.rollout;
    after.objectives.cw.default = 'm@2';
    after.clients = { app: { keySha256: 'ab'.repeat(32) } };
    const edited = editText(text, before, after)!;
    expect(parse(edited)).toEqual(after);
    expect(edited).not.toContain('Canary');
    expect(edited).toContain('# the incumbent');
  });

  it('a JSON text is edited too; a text that cannot carry the edit gives none', () => {
    const json = JSON.stringify({ objectives: { cw: { default: 'm@1' } }, models: {} });
    const before = JSON.parse(json) as Record<string, any>;
    const after = structuredClone(before);
    after.objectives.cw.default = 'm@2';
    expect(parse(editText(json, before, after)!)).toEqual(after);
    expect(editText('a: [unclosed', before, after)).toBeUndefined();
  });
});
