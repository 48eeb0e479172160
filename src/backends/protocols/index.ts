import type { WireProtocol } from './types.js';
import { raw } from './raw.js';

export const PROTOCOLS: Record<string, WireProtocol> = { raw };
