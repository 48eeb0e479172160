// The schema the fleet readout's tables live in: the store's own, read from
// the same `?schema=` of the store URL (postgres-store.ts), so a readout
// and the revisions it reads weights from are one installation.
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The connection URL without `schema`, and the schema (default `junction`). Throws on a name the store would refuse. */
export function fleetSchema(storeUrl: string): { url: string; schema: string } {
  const u = new URL(storeUrl);
  const schema = u.searchParams.get('schema') ?? 'junction';
  if (!SCHEMA_NAME.test(schema)) throw new Error(`schema "${schema}" must match ${SCHEMA_NAME}`);
  u.searchParams.delete('schema');
  return { url: u.toString(), schema };
}
