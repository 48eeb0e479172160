// junction-router-client: decide where the request already is (SPEC §10).
export {
  JunctionClient,
  type ConnectOptions,
  type DecideOptions,
  type InvokeOptions,
  type ClientStats,
} from './client.js';
export type { Decision, GrpcTarget } from './decision.js';
export type { ClientEvent, EventHook } from './events.js';
export type { Body, InvokeResult } from './invoke.js';
export { SnapshotError } from './snapshot.js';
export { JunctionError, type ErrorCode } from '../../../src/errors.js';
