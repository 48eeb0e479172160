// Every wire protocol a remote version may speak, by the name a config writes
// in `protocol:`. This map is the one list: the schema's enum, validation
// (schemes, interfaces), the backends and the nginx export derive from it.
// Adding a protocol: a declaration file beside this one and its line here
// (docs/architecture.md, "Where things go").
import { anthropic } from './anthropic.js';
import type { ProtocolDeclaration } from './declaration.js';
import { oip } from './oip.js';
import { oipGrpc } from './oip-grpc.js';
import { openai } from './openai.js';
import { openaiChat } from './openai-chat.js';
import { raw } from './raw.js';
import { tfserving } from './tfserving.js';

export const PROTOCOLS = {
  oip,
  openai,
  'openai-chat': openaiChat,
  anthropic,
  tfserving,
  raw,
  'oip-grpc': oipGrpc,
} as const satisfies Readonly<Record<string, ProtocolDeclaration>>;

/** A wire protocol's name. */
export type Protocol = keyof typeof PROTOCOLS;

/** The names in declaration order (the schema's enum lists them so). */
export const PROTOCOL_NAMES = Object.freeze(Object.keys(PROTOCOLS)) as readonly [Protocol, ...Protocol[]];

export type { Operation, ProtocolDeclaration, Transport } from './declaration.js';
