// The whole request path after routing, in one place. Read bottom-up: the
// backend's send, wrapped by each policy in turn. Each policy is its own file
// and knows nothing of the others.
import type { Send } from '../call/types.js';
import type { Backend } from '../backends/types.js';
import { JunctionError } from '../errors.js';
import type { CompiledObjective } from '../routing/types.js';
import { deadline } from './deadline.js';

export interface PipelineContext {
  backends: ReadonlyMap<string, Backend>;
}

export function composePipeline(o: CompiledObjective, ctx: PipelineContext): Send {
  const toBackend: Send = (call) => {
    const backend = ctx.backends.get(call.target.id);
    if (backend === undefined) {
      return Promise.reject(new JunctionError('internal', `no backend built for ${call.target.id}`, { objective: o.name }));
    }
    return backend.send(call);
  };
  return deadline(toBackend);
}

/** Policies that may send the body more than once need it buffered. */
export function needsReplayableBody(o: CompiledObjective): boolean {
  const p = o.config.policy;
  return p.retries > 0 || p.hedgeAfterMs !== undefined || p.fallback.length > 0 || o.config.shadow.length > 0;
}
