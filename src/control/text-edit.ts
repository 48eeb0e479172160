// An edit Junction makes to a config (a rollout step, an issued key) applied
// to the text its author submitted, so that comments and key order survive
// it: each changed path is set in the parsed YAML document (JSON is YAML) and
// everything else stays as written. The result is checked: if it does not
// read back as exactly the edited config, the revision keeps no text rather
// than a text that says something else.
import { parseDocument, type Document } from 'yaml';
import { canonicalJson } from './store.js';

type Path = Array<string | number>;

/** The edited text, or undefined when the text cannot carry the edit faithfully. */
export function editText(text: string, before: unknown, after: unknown): string | undefined {
  try {
    const doc = parseDocument(text);
    if (doc.errors.length > 0) return undefined;
    applyChange(doc, [], before, after);
    const edited = doc.toString();
    const back: unknown = parseDocument(edited).toJS({ maxAliasCount: 100 });
    return canonicalJson(back) === canonicalJson(after) ? edited : undefined;
  } catch {
    return undefined; // an alias, a tag or a shape setIn cannot take: no text, never a wrong one
  }
}

function applyChange(doc: Document, path: Path, before: unknown, after: unknown): void {
  if (isRecord(before) && isRecord(after)) {
    for (const key of Object.keys(before)) if (!(key in after)) doc.deleteIn([...path, key]);
    for (const [key, value] of Object.entries(after)) {
      const old = before[key];
      if (canonicalJson(old) === canonicalJson(value)) continue;
      if (isRecord(old) && isRecord(value)) applyChange(doc, [...path, key], old, value);
      else doc.setIn([...path, key], doc.createNode(value));
    }
    return;
  }
  if (path.length === 0) doc.contents = doc.createNode(after);
  else doc.setIn(path, doc.createNode(after));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
