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

/** The store could not be opened: a configuration or environment problem the operator can fix. */
export class StoreOpenError extends Error {
  override readonly name = 'StoreOpenError';
}

export async function openStore(choice: StoreChoice): Promise<Store> {
  if (choice.store !== undefined) {
    let u: URL;
    try {
      u = new URL(choice.store);
    } catch {
      throw new StoreOpenError(
        `--store is not a valid URL (got "${choice.store}"); expected postgres://user@host:5432/database`,
      );
    }
    if (!/^postgres(ql)?:$/.test(u.protocol)) {
      throw new StoreOpenError(
        `--store must be a postgres:// URL (got "${choice.store}"); for a local store use --data DIR`,
      );
    }
    try {
      return await PostgresStore.open(choice.store);
    } catch (err) {
      u.password = '';
      throw new StoreOpenError(
        `cannot open the PostgreSQL store at ${u.host}${u.pathname}: ${(err as Error).message}; check --store and that the database is up`,
      );
    }
  }
  const dir = choice.data ?? DEFAULT_DATA_DIR;
  try {
    return new SqliteStore(dir);
  } catch (err) {
    throw new StoreOpenError(
      `cannot open the store in ${dir}: ${(err as Error).message}; check --data points at a writable folder`,
    );
  }
}
