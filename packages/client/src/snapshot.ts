// A snapshot (GET /v1/config/snapshot) → the routing table the server built
// from the same revision. Validation and compilation are the server's own
// code (bundled from ../../../src), so a snapshot the server would refuse is
// refused here too, whole: nothing is half-applied.
import { ConfigError } from '../../../src/config/issues.js';
import { Config } from '../../../src/config/schema.js';
import { validateSemantics } from '../../../src/config/validate.js';
import { compileRouting } from '../../../src/routing/compile.js';
import type { RoutingTable } from '../../../src/routing/types.js';

/** The snapshot formats this SDK understands (faces/snapshot.ts SNAPSHOT_FORMAT). */
const FORMATS = new Set([1]);

export interface CompiledSnapshot {
  revision: number;
  table: RoutingTable;
  /** The snapshot as received, for the cache file. */
  raw: unknown;
}

export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
}

export function compileSnapshot(raw: unknown): CompiledSnapshot {
  if (typeof raw !== 'object' || raw === null) throw new SnapshotError('snapshot is not a JSON object');
  const { format, revision, config } = raw as Record<string, unknown>;
  if (typeof format !== 'number' || !FORMATS.has(format))
    throw new SnapshotError(
      `snapshot format ${String(format)} is not one this SDK knows; upgrade junction-router-client`,
    );
  if (typeof revision !== 'number' || !Number.isInteger(revision) || revision < 1)
    throw new SnapshotError('snapshot revision must be a positive integer');
  const parsed = Config.safeParse(config);
  if (!parsed.success) {
    throw new SnapshotError(
      `snapshot config is invalid: ${parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')}`,
    );
  }
  const issues = validateSemantics(parsed.data);
  if (issues.length > 0) throw new SnapshotError(`snapshot config is invalid: ${new ConfigError(issues).message}`);
  return { revision, table: compileRouting(parsed.data, revision), raw };
}
