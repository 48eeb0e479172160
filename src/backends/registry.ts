// Builds the Backend for a target from its config. One entry per backend type.
import { PROTOCOLS, type Operation, type ProtocolDeclaration, type Transport } from '../config/protocols/index.js';
import { bridged, bridgesFor } from './translate/bridge.js';
import type { HttpBackendConfig } from '../config/schema.js';
import type { Telemetry } from '../observe/telemetry.js';
import type { Target } from '../routing/types.js';
import { createGrpcBackend } from './grpc/grpc-backend.js';
import { createHttpBackend } from './http/http-backend.js';
import { createOnnxBackend } from './onnx/onnx-backend.js';
import type { OnnxSessions } from './onnx/sessions.js';
import type { Backend } from './types.js';
import type { Logger } from '../call/hooks.js';
import type { RemoteOptions } from './load/setup.js';

export interface BackendContext {
  /** Folder that relative paths in the config resolve against. */
  baseDir: string;
  /** The Junction's sink for endpoint health and pool events. */
  telemetry: Telemetry;
  /** The Junction's open ONNX Runtime sessions, shared by the targets naming one file. */
  sessions: OnnxSessions;
  /** Where remote backends log load-report and discovery warnings (rate-limited). */
  logger?: Logger | undefined;
  /** DNS servers for discovery (`host:port`) instead of the system's: for tests. */
  dnsServers?: readonly string[] | undefined;
}

/** The I/O that carries each transport a protocol may declare (config/protocols/). */
const REMOTE = {
  http: createHttpBackend,
  grpc: createGrpcBackend,
} satisfies Record<
  Transport,
  (target: Target, cfg: HttpBackendConfig, baseDir: string, telemetry: Telemetry, options: RemoteOptions) => Backend
>;

/** `JUNCTION_DNS_SERVERS=127.0.0.1:5353,…`: the DNS servers discovery asks instead of the system's (tests, sidecars). */
function dnsServersFromEnv(): string[] | undefined {
  const v = process.env.JUNCTION_DNS_SERVERS;
  return v === undefined || v.trim() === '' ? undefined : v.split(',').map((s) => s.trim());
}

export async function createBackend(target: Target, ctx: BackendContext): Promise<Backend> {
  const backend = await createSpeaking(target, ctx);
  // Calls in an API the target does not speak are translated to one it does (backends/translate/).
  const bridges = bridgesFor(speaks(target.backend));
  // Backends are plain objects of functions: a copy with a bridged send is the same backend.
  return bridges === undefined ? backend : { ...backend, send: bridged(backend.send, bridges) };
}

/** Which operations a target answers as they are: its protocol's; in process, all but the Messages API's. */
function speaks(cfg: Target['backend']): (operation: Operation) => boolean {
  if (cfg.type !== 'http') return (operation) => operation !== 'messages';
  const operations: ProtocolDeclaration['operations'] = PROTOCOLS[cfg.protocol].operations;
  return operations === 'any' ? () => true : (operation) => operations[operation] !== undefined;
}

async function createSpeaking(target: Target, ctx: BackendContext): Promise<Backend> {
  const cfg = target.backend;
  switch (cfg.type) {
    case 'http': {
      const backend = REMOTE[PROTOCOLS[cfg.protocol].transport](target, cfg, ctx.baseDir, ctx.telemetry, {
        logger: ctx.logger,
        dnsServers: ctx.dnsServers ?? dnsServersFromEnv(),
      });
      await backend.ready?.(); // discovered replicas: the first answer (a failure leaves the set empty, and says so)
      return backend;
    }
    case 'onnx':
      return createOnnxBackend(target, cfg, ctx.baseDir, ctx.sessions);
  }
}
