// The call's budget: policy.timeoutMs capped by the caller's x-deadline-ms,
// fixed by the face as an absolute deadline. Answers 504 on time even if a
// backend ignores the abort signal; the attempt in flight is aborted.
import { performance } from 'node:perf_hooks';
import type { Policy, Reply } from '../call/types.js';
import { JunctionError } from '../errors.js';
import { discard } from './attempt.js';

export const deadline: Policy = (next) => (call) => {
  const remaining = call.deadline - performance.now();
  const expired = () => new JunctionError('deadline_exceeded', 'no answer within the deadline', { objective: call.objective.name });
  if (remaining <= 0) return Promise.reject(expired());
  return new Promise<Reply>((resolve, reject) => {
    let expiredAlready = false;
    const timer = setTimeout(() => {
      expiredAlready = true;
      const err = expired();
      call.abort(err);
      reject(err);
    }, remaining);
    next(call).then(
      (reply) => {
        clearTimeout(timer);
        // A backend that ignored the abort answered late: nobody will read this
        // reply, so close it, or its socket (and any slot held until it closes) stays taken.
        if (expiredAlready) discard(reply);
        else resolve(reply);
      },
      (err) => { clearTimeout(timer); reject(err); },
    );
  });
};
