// Every face the data plane serves, in route-match order: the one list.
// Adding a face: a file declaring a Face (faces/types.ts) and its line here
// (docs/architecture.md, "Adding a face").
import { anthropicFace } from './anthropic.js';
import { junctionFace } from './objectives.js';
import { oipFace } from './oip.js';
import { openaiFace } from './openai.js';
import type { Face } from './types.js';

export const FACES: readonly Face[] = [junctionFace, openaiFace, oipFace, anthropicFace];
