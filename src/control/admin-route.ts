// What an admin API route is and what it is handed: its own file, so the
// route files (admin-routes.ts, console-routes.ts, experiment-results.ts) and
// the list that gathers them form no circle.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from '../http/router.js';
import type { ControlPlane } from './control-plane.js';
import type { ReadoutRunner } from '../readout/runner.js';
import type { FleetReadoutReader } from './fleet-readout.js';
import type { RolloutController } from './rollout-controller.js';
import type { FleetTraffic } from './fleet-traffic.js';

export interface AdminContext {
  control: ControlPlane;
  controller: RolloutController | undefined;
  /** This process's traffic and the fleet's (GET /admin/traffic). */
  traffic?: FleetTraffic | undefined;
  /** The logs experiment readouts read. */
  readouts?: ReadoutLogs | undefined;
  /** This process's spend ledger: flushed before GET /admin/spend reads the store. */
  spend?: { flush(): Promise<void> } | undefined;
  req: IncomingMessage;
  res: ServerResponse;
  params: Params;
  query: URLSearchParams;
}

export interface AdminRoute {
  method: string;
  pattern: string;
  handle(ctx: AdminContext): Promise<void>;
}

/** The logs experiment readouts read (experiment-results.ts). */
export interface ReadoutLogs {
  decisions: string[];
  feedback: string[];
  /** Runs the readouts: this Junction's own, closed with it. */
  runner: ReadoutRunner;
  /** With a PostgreSQL store: the fleet readout, over every replica's exposures and feedback (read instead of the logs). */
  fleet?: FleetReadoutReader;
}
