// Issue 27 item 3: every problem of a config text in one pass — syntax, keys
// written twice, schema and semantics together — each at the line and column
// where its path is written, in YAML and in JSON alike; a path the text does
// not write says so instead of pointing anywhere.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { checkConfigText, loadConfigText } from './load.js';
import { ConfigError, type ConfigIssue } from './issues.js';
import { pathSegments } from './positions.js';

/** Line and column (1-based) of the `nth` occurrence of `needle` in `text`. */
function at(text: string, needle: string, nth = 1): { line: number; column: number } {
  let i = -1;
  for (let n = 0; n < nth; n++) {
    i = text.indexOf(needle, i + 1);
    if (i < 0) throw new Error(`no ${needle} #${nth} in the text`);
  }
  const before = text.slice(0, i);
  return { line: before.split('\n').length, column: i - before.lastIndexOf('\n') };
}

function issueAt(issues: readonly ConfigIssue[], path: string, message: RegExp): ConfigIssue {
  const found = issues.filter((i) => i.path === path && message.test(i.message));
  expect(found, `${path} ${message} among ${JSON.stringify(issues, null, 1)}`).toHaveLength(1);
  return found[0]!;
}

const yamlText = `models:
  m:
    class: scorer
    versions:
      "1": { backend: { type: http, endpoints: ["http://10.0.0.1:8000"] } }
      "2": { backend: { type: htp } }
objectives:
  cw:
    default: m@9
    polcy: {}
    policy: { timeoutMs: fast }
    rules:
      - { when: {}, use: m@2 }
      - { when: {}, use: nope@1 }
      - when: 5
        use: m@1
    experiments:
      - id: e1
        population: 0.5
        cells: { A: { weight: 50, use: m@1 }, B: { weight: 40, use: m@1 } }
  other:
    interface: json
`;

describe('one pass: schema and semantic problems together, each at its line and column (YAML)', () => {
  const { issues, config } = checkConfigText(yamlText);

  it('refuses the config and reports all of them', () => {
    expect(config).toBeUndefined();
    expect(issues.map((i) => i.path)).toEqual([
      'models.m.versions.2.backend.type',
      'objectives.cw.default',
      'objectives.cw',
      'objectives.cw.policy.timeoutMs',
      'objectives.cw.rules[1].use',
      'objectives.cw.rules[2].when',
      'objectives.cw.experiments[0].cells',
      'objectives.other.default',
    ]);
  });

  it('a scalar is placed at its value', () => {
    expect(issueAt(issues, 'models.m.versions.2.backend.type', /discriminator/)).toMatchObject(at(yamlText, 'htp'));
    expect(issueAt(issues, 'objectives.cw.policy.timeoutMs', /expected number/)).toMatchObject(at(yamlText, 'fast'));
    expect(issueAt(issues, 'objectives.cw.rules[2].when', /expected object/)).toMatchObject(at(yamlText, '5\n'));
  });

  it('semantic checks run although the schema refused other parts: an unknown target is found', () => {
    expect(issueAt(issues, 'objectives.cw.default', /no version "9"/)).toMatchObject(at(yamlText, 'm@9'));
    expect(issueAt(issues, 'objectives.cw.rules[1].use', /unknown model "nope"/)).toMatchObject(at(yamlText, 'nope@1'));
  });

  it('a collection is placed at its key; an unknown key at that key', () => {
    expect(issueAt(issues, 'objectives.cw.experiments[0].cells', /weights sum to 90/)).toMatchObject(
      at(yamlText, 'cells'),
    );
    expect(issueAt(issues, 'objectives.cw', /unknown key "polcy"/)).toMatchObject(at(yamlText, 'polcy'));
  });

  it('a reference to a version the schema refused is not called unknown (no guess on malformed parts)', () => {
    expect(issues.filter((i) => i.path === 'objectives.cw.rules[0].use')).toEqual([]);
  });

  it('a required key the text does not write has no position and says so', () => {
    const missing = issueAt(issues, 'objectives.other.default', /missing/);
    expect(missing.line).toBeUndefined();
    expect(missing.inText).toBe(false);
  });

  it('loadConfigText throws the same report as a ConfigError', () => {
    try {
      loadConfigText(yamlText, 'x.yaml');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues).toEqual(issues);
      expect((err as ConfigError).message).toMatch(/^x\.yaml: config refused \(8 problems\)/);
      expect((err as ConfigError).message).toContain(
        `objectives.cw.default: model "m" has no version "9" (versions: 1, 2) (line 9, column 14)`,
      );
    }
  });
});

describe('JSON is placed the same way', () => {
  const value = {
    models: { m: { versions: { '1.5': { backend: { type: 'http', endpoints: ['10.0.0.1:8000'] } } } } },
    objectives: { cw: { default: 'm@1', timeoutMs: 80, rules: [{ when: {}, use: 'm@1.5' }] } },
  };

  it.each([
    ['pretty', JSON.stringify(value, null, 2)],
    ['one line', JSON.stringify(value)],
  ])('%s', (_name, text) => {
    const { issues } = checkConfigText(text);
    expect(issues).toEqual([
      {
        path: 'models.m.versions.1.5.backend.endpoints[0]',
        message: expect.stringMatching(/expected an http/),
        ...at(text, '"10.0.0.1:8000"'),
      },
      { path: 'objectives.cw.default', message: expect.stringMatching(/no version "1"/), ...at(text, '"m@1"') },
      { path: 'objectives.cw', message: expect.stringMatching(/unknown key "timeoutMs"/), ...at(text, '"timeoutMs"') },
    ]);
  });

  it('strings holding quotes, backslashes and brackets, and escaped keys, do not mislead the scan', () => {
    const text = JSON.stringify({
      models: {
        m: {
          description: 'a "quoted" \\ {not: [a map]}',
          versions: { '1': { backend: { type: 'onnx', path: 'x\\"].onnx' } } },
        },
      },
      objectives: { 'c"w': { default: 'm@1' }, cw: { description: '}]"', default: 'm@7' } },
    });
    const { issues } = checkConfigText(text);
    expect(issueAt(issues, 'objectives.cw.default', /no version "7"/)).toMatchObject(at(text, '"m@7"'));
    expect(issueAt(issues, 'objectives.c"w', /objective names/)).toMatchObject(at(text, '"c\\"w"'));
  });

  it('a JSON document 100,000 levels deep is placed without a recursive walk', () => {
    const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const text = `{"models": {"m": {"versions": {"1": {"backend": {"type": "onnx", "path": "m.onnx"}, "metadata": {"x": ${deep}}}}}}, "objectives": {"cw": {"default": "m@2"}}}`;
    const { issues } = checkConfigText(text);
    expect(issueAt(issues, 'objectives.cw.default', /no version "2"/)).toMatchObject(at(text, '"m@2"'));
    expect(issues.some((i) => i.path.startsWith('models.m.versions.1.metadata') && i.line === 1)).toBe(true);
  });
});

describe('syntax', () => {
  it('a YAML syntax error gives its line and column once: in the fields, not repeated in the message', () => {
    const { issues, source } = checkConfigText('models:\n  a: [1, 2\nobjectives: {}\n');
    expect(source).toBeUndefined();
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: '(syntax)', line: 3, column: 1 });
    expect(issues[0]!.message).not.toMatch(/line|column/);
  });

  it('a tab as indentation is refused at its position', () => {
    expect(checkConfigText('models:\n\tm: {}\n').issues).toEqual([
      { path: '(syntax)', message: 'Tabs are not allowed as indentation', line: 2, column: 1 },
    ]);
  });

  it('a JSON syntax error is placed too (JSON.parse gives only an offset: YAML reads it again)', () => {
    const text = '{\n  "objectives": {},\n  "models" {}\n}\n';
    const { issues } = checkConfigText(text);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: '(syntax)', line: 3 });
  });

  it('brackets nested past the limit are refused before the YAML parser recurses', () => {
    const { issues } = checkConfigText(`models: ${'['.repeat(300)}${']'.repeat(300)}\n`);
    expect(issues).toEqual([{ path: '(syntax)', message: 'brackets nest deeper than 256 levels' }]);
  });
});

describe('keys written twice', () => {
  const yaml = 'models: {}\nobjectives:\n  cw: { default: m@1 }\n  cw: { default: m@2 }\n';
  const json = '{"models": {}, "objectives": {"cw": {"default": "m@1"}, "cw": {"default": "m@2"}}}';

  it.each([
    ['YAML', yaml, 'cw: { default: m@2', 'm@2'],
    ['JSON (JSON.parse alone keeps the last silently)', json, '"cw": {"default": "m@2"', '"m@2"'],
  ])(
    '%s: named with the mapping that holds them, at the later one; the rest is still checked',
    (_n, text, dup, ref) => {
      const { issues, config } = checkConfigText(text);
      expect(config).toBeUndefined();
      expect(issues).toEqual([
        { path: 'objectives', message: expect.stringMatching(/^key "cw" is written twice/), ...at(text, dup) },
        { path: 'objectives.cw.default', message: expect.stringMatching(/unknown model "m"/), ...at(text, ref) },
      ]);
    },
  );

  it('a key written twice at the root', () => {
    const { issues } = checkConfigText('{"models": {}, "models": {}}');
    expect(issues).toEqual([
      { path: '(root)', message: expect.stringMatching(/^key "models" is written twice/), line: 1, column: 16 },
    ]);
  });
});

describe('the semantic checks on what the schema refused', () => {
  it('a malformed models section: no target is judged (every reference would be "unknown")', () => {
    const { issues } = checkConfigText('models: [1]\nobjectives:\n  cw: { default: m@1 }\n');
    expect(issues.map((i) => i.path)).toEqual(['models']);
  });

  it('an objective with a malformed interface is not judged against its targets; its other checks run', () => {
    const text = [
      'models:',
      '  m: { class: generator, versions: { "1": { backend: { type: http, protocol: openai, endpoints: ["http://h:1"] } } } }',
      'objectives:',
      '  cw:',
      '    interface: jsno',
      '    default: m@1',
      '    experiments: [{ id: e, population: 2, cells: { A: { weight: 100, use: m@1 } } }]',
    ].join('\n');
    const { issues } = checkConfigText(text);
    expect(issues.map((i) => i.path)).toEqual(['objectives.cw.interface', 'objectives.cw.experiments[0].population']);
  });

  it('one malformed experiment hides neither the others nor their duplicate ids', () => {
    const text = [
      'models: { m: { versions: { "1": { backend: { type: onnx, path: m.onnx } } } } }',
      'objectives:',
      '  a: { default: m@1, experiments: [{ id: e, population: 0.5, cells: { A: { weight: 100, use: m@1 } } }] }',
      '  b:',
      '    default: m@1',
      '    experiments:',
      '      - { id: x, population: 0.5, cells: { A: { weight: "all", use: m@1 } } }',
      '      - { id: e, population: 0.5, cells: { A: { weight: 100, use: m@1 } } }',
    ].join('\n');
    const { issues } = checkConfigText(text);
    expect(issues.map((i) => `${i.path} ${i.line}`)).toEqual([
      'objectives.b.experiments[0].cells.A.weight 7',
      'objectives.b.experiments[1].id 8',
    ]);
  });
});

describe('YAML anchors and aliases', () => {
  it('a problem inside an aliased node is placed where the alias is used', () => {
    const text = [
      'models: { m: { versions: { "1": { backend: { type: onnx, path: m.onnx } } } } }',
      'objectives:',
      '  a: &base { default: m@1, policy: { timeoutMs: 10, hedgeAfterMs: 20, idempotent: true } }',
      '  b: *base',
    ].join('\n');
    const { issues } = checkConfigText(text);
    expect(issues).toEqual([
      { path: 'objectives.a.policy.hedgeAfterMs', message: expect.stringMatching(/not below/), ...at(text, '20') },
      { path: 'objectives.b.policy.hedgeAfterMs', message: expect.stringMatching(/not below/), ...at(text, '20') },
    ]);
  });
});

describe('large configs', () => {
  // 2,000 objectives, each with a reference to an undeclared target: 2,000 problems, every one placed.
  const value = {
    models: { m: { versions: { '1': { backend: { type: 'onnx', path: 'm.onnx' } } } } },
    objectives: Object.fromEntries(
      Array.from({ length: 2000 }, (_, i) => [`o${i}`, { default: 'm@1', rules: [{ when: {}, use: `m@${i + 2}` }] }]),
    ),
  };
  it.each([
    ['JSON', JSON.stringify(value, null, 2), '"'],
    ['YAML', stringify(value), ''],
  ])('%s', (_name, text, quote) => {
    const { issues } = checkConfigText(text);
    expect(issues).toHaveLength(2000);
    for (const n of [0, 1234, 1999]) {
      expect(issues[n]).toEqual({
        path: `objectives.o${n}.rules[0].use`,
        message: expect.stringMatching(new RegExp(`no version "${n + 2}"`)),
        ...at(text, `${quote}m@${n + 2}`),
      });
    }
  });
});

describe('pathSegments', () => {
  it('splits a formatted path where the document has keys, dots in keys included', () => {
    const source = { models: { m: { versions: { '1': { x: 1 }, '1.5': { backend: { endpoints: ['a'] } } } } } };
    expect(pathSegments('models.m.versions.1.5.backend.endpoints[0]', source)).toEqual([
      'models',
      'm',
      'versions',
      '1.5',
      'backend',
      'endpoints',
      0,
    ]);
    expect(pathSegments('models.m.versions.2', source)).toBeUndefined();
    expect(pathSegments('(root)', source)).toEqual([]);
  });
});
