// The files a readout or an export reads, from what the user names: files and
// glob patterns (`logs/*/decisions.jsonl`, several replicas' logs), each log
// file with the files it was rotated into (`decisions.jsonl.20261203T190929Z`,
// observe/rotating-file.ts), so naming the live file reads the whole log.
// Node 20 has no fs.glob; DuckDB globs natively, but a pattern that matches
// nothing is then DuckDB's error, and rotated siblings would need a second
// pattern per file: expanding here keeps both under our control.
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { rotatedPattern } from '../observe/rotating-file.js';

export interface ExpandedLogFiles {
  /** Every file, each once, in the order named (a pattern's matches sorted), rotated files before their live file. */
  files: string[];
  /** Patterns or files that matched no file. */
  unmatched: string[];
}

const MAGIC = /[*?[]/;

export function expandLogFiles(patterns: readonly string[]): ExpandedLogFiles {
  const files: string[] = [];
  const seen = new Set<string>();
  const unmatched: string[] = [];
  const add = (file: string) => {
    const key = resolve(file);
    if (seen.has(key)) return;
    seen.add(key);
    files.push(file);
  };
  for (const pattern of patterns) {
    const matches = (MAGIC.test(pattern) ? glob(pattern) : [pattern]).filter(isFile);
    if (matches.length === 0) unmatched.push(pattern);
    for (const file of matches) {
      for (const sibling of rotatedSiblings(file)) add(sibling);
      add(file);
    }
  }
  return { files, unmatched };
}

/** The files `file` was rotated into, oldest first (the stamp, then the sequence, orders them). */
function rotatedSiblings(file: string): string[] {
  const pattern = rotatedPattern(basename(file));
  const dir = dirname(file);
  return readdir(dir)
    .filter((name) => pattern.test(name))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((name) => join(dir, name));
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function readdir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Shell-style matching, one path segment at a time: `*` and `?` within a
 * segment, `[abc]` classes, `**` for any number of folders. Names starting
 * with a dot match only a segment that starts with one, as in a shell.
 */
function glob(pattern: string): string[] {
  const absolute = pattern.startsWith('/');
  const segments = pattern.split('/').filter((s) => s !== '');
  let bases = [absolute ? '/' : ''];
  for (const [i, segment] of segments.entries()) {
    const last = i === segments.length - 1;
    const next: string[] = [];
    if (segment === '**') {
      for (const base of bases) next.push(...folders(base));
    } else if (!MAGIC.test(segment)) {
      for (const base of bases) next.push(base === '' ? segment : join(base, segment));
    } else {
      const re = segmentRegExp(segment);
      for (const base of bases) {
        for (const name of readdir(base === '' ? '.' : base)) {
          if (name.startsWith('.') && !segment.startsWith('.')) continue;
          if (re.test(name)) next.push(base === '' ? name : join(base, name));
        }
      }
    }
    bases = last ? next : next.filter(isFolder);
  }
  return [...new Set(bases)].sort();
}

/** `base` and every folder below it (for `**`), not following into dot-folders. */
function folders(base: string): string[] {
  const out = [base];
  for (let i = 0; i < out.length; i++) {
    const dir = out[i]!;
    for (const name of readdir(dir === '' ? '.' : dir)) {
      if (name.startsWith('.')) continue;
      const path = dir === '' ? name : join(dir, name);
      if (isFolder(path)) out.push(path);
    }
  }
  return out;
}

function isFolder(path: string): boolean {
  try {
    return statSync(path === '' ? '.' : path).isDirectory();
  } catch {
    return false;
  }
}

function segmentRegExp(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close === -1) re += '\\[';
      else {
        const body = segment.slice(i + 1, close).replace(/\\/g, '\\\\');
        re += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
