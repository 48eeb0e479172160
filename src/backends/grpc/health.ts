// Active health checks for gRPC replicas: every `intervalMs`, ServerReady then
// ModelReady (the backend's own model name and version) on each endpoint, with
// a gRPC deadline of `timeoutMs`. Ready only when both say so; the verdict goes
// to EndpointSet.setReady, as for HTTP replicas.
import { Metadata, type Client } from '@grpc/grpc-js';
import type { OipGrpcService } from '../../grpc/service.js';
import { HealthRounds } from '../health-rounds.js';
import type { EndpointSet } from '../http/endpoints.js';
import type { GrpcEndpoint } from './channels.js';

export interface GrpcHealthOptions {
  intervalMs: number;
  timeoutMs: number;
  model: { name: string; version: string };
  /** The backend's configured headers (credentials), sent with every check as on every call. */
  headers: Readonly<Record<string, string>>;
}

export class GrpcHealthChecker extends HealthRounds<GrpcEndpoint> {
  private readonly metadata = new Metadata();

  constructor(
    set: EndpointSet<GrpcEndpoint>,
    private readonly service: OipGrpcService,
    private readonly opts: GrpcHealthOptions,
  ) {
    super(set, opts.intervalMs);
    for (const key in opts.headers) this.metadata.set(key, opts.headers[key]!);
  }

  protected async probe(e: GrpcEndpoint): Promise<boolean> {
    const client = e.client();
    return (await this.ask(client, 'ServerReady', {})) && (await this.ask(client, 'ModelReady', this.opts.model));
  }

  private ask(client: Client, method: 'ServerReady' | 'ModelReady', request: object): Promise<boolean> {
    const m = this.service.decoded[method]!;
    return new Promise((resolve) => {
      if (this.stopped) return resolve(false); // the channels close with the backend
      try {
        client.makeUnaryRequest(
          m.path,
          m.requestSerialize,
          m.responseDeserialize,
          request,
          this.metadata.clone(),
          { deadline: Date.now() + this.opts.timeoutMs },
          (err, value) => resolve(err === null && (value as { ready?: boolean } | undefined)?.ready === true),
        );
      } catch {
        resolve(false); // a channel closed under a check in flight
      }
    });
  }
}
