// Junction's own face: the one entry point, POST|PUT|GET
// /v1/objectives/{objective} (SPEC §2.1). It serves every interface with the
// objective's own methods; bodies pass through as they came; errors take
// Junction's shape, which Junction's other routes (decide, snapshot,
// exposures, health, metrics) share.
import { junctionErrorBody } from '../http/error-reply.js';
import { invoke } from './invoke.js';
import type { Face } from './types.js';

export const junctionFace: Face = {
  name: 'junction',
  interface: undefined,
  objectiveFrom: 'path',
  errorBody: junctionErrorBody,
  routes: () => [
    {
      methods: ['POST', 'PUT', 'GET'],
      pattern: '/v1/objectives/:objective',
      face: junctionFace,
      admission: 'invoke',
      handle: ({ dp, req, res, record, params, query }) =>
        invoke(dp, req, res, record, {
          face: junctionFace,
          operation: 'invoke',
          objective: params.objective!,
          query,
        }),
    },
  ],
};
