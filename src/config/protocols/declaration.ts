// What a wire protocol is, as data: the one shape every protocol file of this
// folder declares. Config validation, the backends and the exported nginx
// config all read these declarations; the I/O that speaks a protocol (undici
// pools, gRPC channels) lives in backends/ and is chosen by `transport`.
import type { InterfaceName } from '../interfaces.js';

/**
 * What the caller asked for, in protocol-neutral terms (call/types.ts re-exports
 * it for the Call). `invoke` is the generic objective entry point; the protocol
 * faces name their own operations so a protocol can map them (OIP `infer`,
 * OpenAI `chat/completions`, …).
 */
export type Operation =
  | 'invoke'
  | 'infer'
  | 'metadata'
  | 'ready'
  | 'generate'
  | 'generate_stream'
  | 'chat/completions'
  | 'completions'
  | 'embeddings'
  | 'responses'
  | 'messages';

/** What carries the protocol's calls: HTTP/1.1 through undici pools (backends/http/) or gRPC channels (backends/grpc/). */
export type Transport = 'http' | 'grpc';

export type EndpointScheme = 'http' | 'https' | 'grpc' | 'grpcs';

export interface ProtocolDeclaration {
  readonly transport: Transport;
  /** Endpoint URL schemes it takes; validation refuses the others (a mismatch could only fail every call). */
  readonly schemes: readonly EndpointScheme[];
  /** How its endpoints are written, for the message that refuses another scheme. */
  readonly endpointForm: string;
  /** The objective interfaces a version speaking it can serve (validation checks every target against them). */
  readonly interfaces: readonly InterfaceName[];
  /**
   * Each operation it has and where it goes: a path after `modelPath` (HTTP)
   * or an RPC of the service (gRPC). `any`: every operation goes to the
   * endpoint URL as it is, with the caller's query string (raw).
   */
  readonly operations: Readonly<Partial<Record<Operation, string>>> | 'any';
  /**
   * The model's own path on an endpoint, from the backend's names for it
   * (`backend.model`, `backend.version`; a version of '' means unversioned).
   * Absent: the operations' paths stand alone.
   */
  readonly modelPath?: (model: string, version: string) => string;
  /** Readiness: what its `ready` operation answers, a fixed path, or none (then only a configured `health.path` checks). */
  readonly health: { readonly operation: 'ready' } | { readonly path: string } | undefined;
  /** Whether a readiness answer means ready. Default: any 2xx. */
  readonly healthy?: (status: number, body: Buffer) => boolean;
  /** The top-level JSON field of the body rewritten to the backend's served model name, if any (the one body rewrite Junction does). */
  readonly modelField?: string;
  /** Headers the protocol requires on every call (Anthropic's `anthropic-version`), unless the backend's `headers` set them. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Its bodies are JSON: a gRPC ModelInfer's protobuf bytes are refused rather than forwarded. */
  readonly refusesGrpcMessages?: boolean;
}

/** The schemes and form shared by every protocol over HTTP. */
export const HTTP_ENDPOINTS = { schemes: ['http', 'https'], endpointForm: 'http:// or https://' } as const;

/** A path segment, escaped only when it must be (names are config data and rarely need it). */
export function seg(name: string): string {
  return /^[A-Za-z0-9._~-]+$/.test(name) ? name : encodeURIComponent(name);
}
