import type { WireProtocol } from './types.js';
import { oip } from './oip.js';
import { openai } from './openai.js';
import { raw } from './raw.js';
import { tfserving } from './tfserving.js';

export const PROTOCOLS: Record<string, WireProtocol> = { oip, openai, tfserving, raw };
