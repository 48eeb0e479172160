// After `npx prettier --write .`: checks that every changed JS/TS file parses to the same
// program as at HEAD. Compared in order: syntax node kinds (parentheses aside), identifiers,
// string values and property keys (quotes aside), template text as written, numeric values. A difference is
// printed with the first nodes that differ and the script exits 1.
//   npx tsx scripts/check-reformat.ts
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

function isPropertyName(n: ts.Node): boolean {
  const p = n.parent;
  return (
    (ts.isPropertyAssignment(p) ||
      ts.isPropertySignature(p) ||
      ts.isPropertyDeclaration(p) ||
      ts.isMethodDeclaration(p)) &&
    p.name === n
  );
}

function signature(file: string, text: string): string[] {
  const kind = /\.[cm]?ts$/.test(file) ? ts.ScriptKind.TS : ts.ScriptKind.JS;
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
  const out: string[] = [];
  const walk = (n: ts.Node): void => {
    if (n.kind !== ts.SyntaxKind.ParenthesizedExpression && n.kind !== ts.SyntaxKind.ParenthesizedType) {
      let v: string = ts.SyntaxKind[n.kind];
      // Prettier unquotes property keys that need no quotes ('a': 1 → a: 1): the same key.
      if ((ts.isIdentifier(n) || ts.isStringLiteral(n)) && isPropertyName(n)) v = `Key:${n.text}`;
      else if (ts.isIdentifier(n) || ts.isPrivateIdentifier(n)) v += `:${n.text}`;
      else if (ts.isStringLiteral(n)) v += `:${JSON.stringify(n.text)}`;
      else if (
        ts.isNoSubstitutionTemplateLiteral(n) ||
        ts.isTemplateHead(n) ||
        ts.isTemplateMiddle(n) ||
        ts.isTemplateTail(n)
      ) {
        v += `:${JSON.stringify(n.rawText)}`;
      } else if (ts.isNumericLiteral(n)) v += `:${Number(n.text)}`;
      else if (ts.isRegularExpressionLiteral(n)) v += `:${n.text}`;
      out.push(v);
    }
    ts.forEachChild(n, walk);
  };
  walk(source);
  return out;
}

const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const files = git('diff', '--name-only', '--diff-filter=M', 'HEAD')
  .split('\n')
  .filter((f) => /\.[cm]?[jt]s$/.test(f));
let differing = 0;
for (const file of files) {
  const before = signature(file, git('show', `HEAD:${file}`));
  const after = signature(file, readFileSync(file, 'utf8'));
  if (before.join('\n') === after.join('\n')) continue;
  differing++;
  let i = 0;
  while (before[i] === after[i]) i++;
  console.log(
    `${file}: differs at node ${i}\n  before: ${before.slice(i, i + 3).join(' | ')}\n  after:  ${after.slice(i, i + 3).join(' | ')}`,
  );
}
console.log(`${files.length} changed JS/TS files compared with HEAD, ${differing} parse differently`);
process.exitCode = differing === 0 ? 0 : 1;
