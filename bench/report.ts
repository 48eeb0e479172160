// Bench sections print as aligned tables and are collected into one report.
export interface BenchSection {
  name: string;
  rows: Array<Record<string, string | number>>;
  notes?: string[];
}

export function formatSection(s: BenchSection): string {
  const cols = [...new Set(s.rows.flatMap((r) => Object.keys(r)))];
  const width = cols.map((c) => Math.max(c.length, ...s.rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(width[i]!)).join(' | ')} |`;
  return [
    `### ${s.name}`,
    '',
    line(cols),
    `|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...s.rows.map((r) => line(cols.map((c) => String(r[c] ?? '')))),
    ...(s.notes?.length ? ['', ...s.notes.map((n) => `- ${n}`)] : []),
    '',
  ].join('\n');
}

export function printSection(s: BenchSection): void {
  console.log(formatSection(s));
}
