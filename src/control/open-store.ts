// `--store postgres://…` or `--data DIR` (default ./junction-data) → a Store.
import { PostgresStore } from './postgres-store.js';
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

export const DEFAULT_DATA_DIR = './junction-data';

export interface StoreChoice {
  /** A postgres:// URL. */
  store?: string;
  /** The SQLite data folder, or `:memory:`. */
  data?: string;
}

export async function openStore(choice: StoreChoice): Promise<Store> {
  if (choice.store !== undefined) {
    if (!/^postgres(ql)?:\/\//.test(choice.store)) {
      throw new Error(`--store must be a postgres:// URL (got "${choice.store}"); for a local store use --data DIR`);
    }
    return PostgresStore.open(choice.store);
  }
  return new SqliteStore(choice.data ?? DEFAULT_DATA_DIR);
}
