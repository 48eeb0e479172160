// The protocols carried over HTTP (undici pools), each built once from its
// declaration; a protocol with another transport (oip-grpc) has no entry here,
// its backend speaks it (../grpc/).
import { PROTOCOL_NAMES, PROTOCOLS, type Protocol } from '../../config/protocols/index.js';
import { httpWire } from './http-wire.js';
import type { WireProtocol } from './types.js';

export const HTTP_WIRES: Readonly<Partial<Record<Protocol, WireProtocol>>> = Object.freeze(
  Object.fromEntries(
    PROTOCOL_NAMES.filter((name) => PROTOCOLS[name].transport === 'http').map((name) => [
      name,
      httpWire(name, PROTOCOLS[name]),
    ]),
  ),
);
