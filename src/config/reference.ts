// docs/config-reference.md, generated from the same zod schema as the JSON
// Schema and the TypeScript types: one definition, three views.
import { z } from 'zod';
import { Config } from './schema.js';

type Node = {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, Node>;
  required?: string[];
  items?: Node;
  additionalProperties?: Node | boolean;
  anyOf?: Node[];
  oneOf?: Node[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  pattern?: string;
};

function typeOf(n: Node): string {
  if (n.const !== undefined) return `\`${JSON.stringify(n.const)}\``;
  if (n.enum) return n.enum.map((e) => `\`${String(e)}\``).join(' \\| ');
  const alts = n.anyOf ?? n.oneOf;
  if (alts) return alts.map(typeOf).join(' \\| ');
  if (n.type === 'array') return `list of ${n.items ? typeOf(n.items) : 'any'}`;
  if (n.type === 'object' && n.additionalProperties && typeof n.additionalProperties === 'object' && !n.properties) {
    return `map of ${typeOf(n.additionalProperties)}`;
  }
  if (Array.isArray(n.type)) return n.type.join(' \\| ');
  return n.type ?? 'any';
}

function constraints(n: Node): string {
  const parts: string[] = [];
  if (n.minimum !== undefined) parts.push(`≥ ${n.minimum}`);
  if (n.exclusiveMinimum !== undefined) parts.push(`> ${n.exclusiveMinimum}`);
  if (n.maximum !== undefined && n.maximum < Number.MAX_SAFE_INTEGER) parts.push(`≤ ${n.maximum}`);
  return parts.join(', ');
}

export function configReference(): string {
  const root = z.toJSONSchema(Config, { io: 'input', target: 'draft-2020-12' }) as Node;
  const sections: string[] = [];

  function walk(title: string, n: Node): void {
    const objects: Array<[string, Node]> = [];
    const rows: string[] = [];
    for (const [key, child] of Object.entries(n.properties ?? {})) {
      if (key === '$schema') continue;
      const required = n.required?.includes(key) ? 'yes' : '';
      const def = child.default === undefined ? '' : `\`${JSON.stringify(child.default)}\``;
      const note = [child.description ?? '', constraints(child)].filter(Boolean).join(' ');
      rows.push(`| \`${key}\` | ${typeOf(child)} | ${required} | ${def} | ${note} |`);
      collect(`${title}.${key}`, child, objects);
    }
    sections.push(
      `## \`${title}\`\n${n.description ? `\n${n.description}\n` : ''}\n| key | type | required | default | notes |\n| --- | --- | --- | --- | --- |\n${rows.join('\n')}\n`,
    );
    for (const [t, o] of objects) walk(t, o);
  }

  function collect(path: string, n: Node, out: Array<[string, Node]>): void {
    if (n.properties) out.push([path, n]);
    else if (n.type === 'array' && n.items) collect(`${path}[]`, n.items, out);
    else if (n.additionalProperties && typeof n.additionalProperties === 'object')
      collect(`${path}.<name>`, n.additionalProperties, out);
    else
      for (const alt of n.anyOf ?? n.oneOf ?? []) {
        const kind = alt.properties?.type?.const;
        collect(
          kind === undefined ? path : `${path} (type: ${typeof kind === 'string' ? kind : JSON.stringify(kind)})`,
          alt,
          out,
        );
      }
  }

  walk('(root)', root);
  return [
    '# Config reference',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run schema`; do not edit by hand. -->',
    '',
    'A Junction config is YAML or JSON. Editors validate it with `schema/junction.schema.json`',
    '(add `# yaml-language-server: $schema=./schema/junction.schema.json` at the top of a YAML file).',
    'Beyond the schema, `junction validate FILE` checks that every target exists, experiment weights',
    'sum to 100, populations are in (0, 1], ids are unique, names are valid and every target can serve',
    "its objective's interface; it reports every problem at once, each with its path and its line and column in the file.",
    '',
    ...sections,
  ].join('\n');
}
