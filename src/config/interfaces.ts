// The payloads an objective accepts (SPEC §2): its own list, so the schema and
// the wire protocols' declarations (which say which of them each carries) both
// read it without importing each other.
export const INTERFACES = ['json', 'oip', 'openai', 'bytes'] as const;
export type InterfaceName = (typeof INTERFACES)[number];
