// A config's problems as `junction validate` prints them: one line per
// position, `FILE:LINE:COLUMN  path: message`, the way compilers and editors
// write them so a terminal or an editor jumps there. Problems at one position
// print it once, their messages under it; a path the file does not write (a
// default, a key to add) says so instead of pointing anywhere.
import type { ConfigIssue } from '../config/issues.js';

export function formatConfigReport(file: string, issues: readonly ConfigIssue[]): string {
  const groups = new Map<string, ConfigIssue[]>();
  for (const issue of issues) {
    const where = issue.line === undefined ? `\0${issue.path}` : `${issue.line}:${issue.column}`;
    const group = groups.get(where);
    if (group === undefined) groups.set(where, [issue]);
    else group.push(issue);
  }
  const count = `${issues.length} problem${issues.length === 1 ? '' : 's'}`;
  const lines = [`${file}: config refused (${count})`];
  for (const group of groups.values()) {
    const first = group[0]!;
    const at = first.line === undefined ? file : `${file}:${first.line}:${first.column}`;
    const note = first.inText === false ? ' (not written in the file)' : '';
    if (group.length === 1) {
      lines.push(`${at}  ${first.path}: ${first.message}${note}`);
      continue;
    }
    const onePath = group.every((i) => i.path === first.path);
    lines.push(onePath ? `${at}  ${first.path}:${note}` : at);
    for (const issue of group) lines.push(`    ${onePath ? '' : `${issue.path}: `}${issue.message}`);
  }
  return `${lines.join('\n')}\n`;
}
