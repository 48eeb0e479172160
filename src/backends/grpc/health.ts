// Active health checks for gRPC replicas: every `intervalMs`, ServerReady then
// ModelReady (the backend's own model name and version) on each endpoint, with
// a gRPC deadline of `timeoutMs`. Ready only when both say so; the verdict goes
// to EndpointSet.setReady, as for HTTP replicas.
import { Metadata, type Client } from '@grpc/grpc-js';
import type { OipGrpcService } from '../../grpc/service.js';
import type { EndpointSet } from '../http/endpoints.js';
import type { GrpcEndpoint } from './channels.js';

export interface GrpcHealthOptions {
  intervalMs: number;
  timeoutMs: number;
  model: { name: string; version: string };
}

export class GrpcHealthChecker {
  private timer: NodeJS.Timeout | undefined;
  private readonly inflight = new Set<GrpcEndpoint>();
  private stopped = false;

  constructor(private readonly set: EndpointSet<GrpcEndpoint>, private readonly service: OipGrpcService, private readonly opts: GrpcHealthOptions) {}

  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** One round over every endpoint; resolves when each has a verdict. */
  tick(): Promise<void> {
    return Promise.all(this.set.endpoints.map((e) => this.checkOne(e))).then(() => undefined);
  }

  private async checkOne(e: GrpcEndpoint): Promise<void> {
    if (this.inflight.has(e) || this.stopped) return; // a slow check is not stacked
    this.inflight.add(e);
    try {
      const client = e.client();
      const ok = (await this.ask(client, 'ServerReady', {})) && (await this.ask(client, 'ModelReady', this.opts.model));
      if (!this.stopped) this.set.setReady(e, ok, performance.now());
    } finally {
      this.inflight.delete(e);
    }
  }

  private ask(client: Client, method: 'ServerReady' | 'ModelReady', request: object): Promise<boolean> {
    const m = this.service.decoded[method]!;
    return new Promise((resolve) => {
      if (this.stopped) return resolve(false); // the channels close with the backend
      try {
        client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, request, new Metadata(),
          { deadline: Date.now() + this.opts.timeoutMs },
          (err, value) => resolve(err === null && (value as { ready?: boolean } | undefined)?.ready === true));
      } catch {
        resolve(false); // a channel closed under a check in flight
      }
    });
  }
}
