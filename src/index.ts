// The library entry point (`import { startJunction } from 'junction-router'`): for
// embedders who run Junction inside their own Node.js process. The CLI is
// bin/junction.js; everything here is also what `serve` uses.
export { startJunction, type Junction, type JunctionOptions } from './app.js';
export type { Config, ConfigInput } from './config/schema.js';
export type { ControlOptions, AdminOptions } from './control/start-control.js';
export type { Observer, RequestRecord } from './observe/record.js';
export type { TokenUsage } from './observe/token-usage.js';
