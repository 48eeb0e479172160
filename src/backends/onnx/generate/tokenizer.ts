// The character tokenizer of the quickstart language model: one token per
// character, ids by position in the vocabulary file written by
// scripts/models/charlm.ts: {"type":"char","tokens":[…],"pad":"\n","unknown":" "}.
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../../../config/issues.js';

export class CharTokenizer {
  private readonly ids = new Map<string, number>();
  readonly padId: number;
  private readonly unknownId: number;

  constructor(
    readonly tokens: readonly string[],
    pad: string,
    unknown: string,
  ) {
    tokens.forEach((t, i) => this.ids.set(t, i));
    this.padId = this.ids.get(pad) ?? 0;
    this.unknownId = this.ids.get(unknown) ?? this.padId;
  }

  static async load(file: string, configPath: string): Promise<CharTokenizer> {
    try {
      const v = JSON.parse(await readFile(file, 'utf8')) as {
        type?: string;
        tokens?: unknown;
        pad?: string;
        unknown?: string;
      };
      if (v.type !== 'char' || !Array.isArray(v.tokens) || !v.tokens.every((t) => typeof t === 'string')) {
        throw new Error('expected {"type":"char","tokens":[…]}');
      }
      return new CharTokenizer(v.tokens, v.pad ?? '\n', v.unknown ?? ' ');
    } catch (err) {
      throw new ConfigError([
        { path: configPath, message: `cannot load tokenizer ${file}: ${(err as Error).message}` },
      ]);
    }
  }

  get size(): number {
    return this.tokens.length;
  }

  /** Characters the model never saw become the `unknown` token. */
  encode(text: string): number[] {
    return Array.from(text, (ch) => this.ids.get(ch) ?? this.unknownId);
  }

  decode(id: number): string {
    return this.tokens[id] ?? '';
  }
}
