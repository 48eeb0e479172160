import type { Call } from '../../call/types.js';
import { JunctionError } from '../../errors.js';

/** A face asked a backend for an operation its protocol does not have. */
export function unsupported(protocol: string, call: Call): JunctionError {
  return new JunctionError('invalid_request', `${call.target.id} speaks ${protocol}, which has no "${call.operation}" operation`, {
    objective: call.objective.name,
  });
}
