// The one entry point: POST|PUT|GET /v1/objectives/{objective} (SPEC §2.1).
import { invoke } from './invoke.js';
import type { Route } from './route.js';

export const objectiveRoutes: Route[] = [
  {
    methods: ['POST', 'PUT', 'GET'],
    pattern: '/v1/objectives/:objective',
    face: 'junction',
    admission: 'invoke',
    handle: ({ dp, req, res, record, params, query }) =>
      invoke(dp, req, res, record, { face: 'junction', operation: 'invoke', objective: params.objective!, query }),
  },
];
