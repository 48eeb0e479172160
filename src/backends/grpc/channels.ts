// One gRPC replica: a few HTTP/2 channels to it, used in turn (grpc-js for
// the calls Junction encodes itself; h2-sessions.ts for the stream proxy). A channel
// multiplexes many calls, so a handful is enough; more than one spreads the
// framing work and keeps one slow connection from holding every call. Each
// channel has its own connection (a local subchannel pool), not a shared one.
import { Client, credentials, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { ReplicaState } from '../replica.js';
import { H2Sessions, type H2Settings } from './h2-sessions.js';

/** HTTP/2 channels per endpoint are capped here: `connections` (default 128) is sized for HTTP/1.1 pools. */
export const MAX_CHANNELS = 16;

export interface ChannelSettings {
  channels: number;
  /** Insecure for grpc://; TLS (with the backend's `tls` files) for grpcs://. */
  tls: ChannelCredentials | undefined;
  servername?: string | undefined;
  maxMessageBytes: number;
  /** TLS files for the stream proxy's sessions (grpcs://). */
  tlsFiles?: H2Settings['tls'];
}

export class GrpcEndpoint extends ReplicaState {
  /** host:port, as grpc-js dials it. */
  readonly target: string;
  private readonly clients: Client[];
  /** HTTP/2 sessions of the stream proxy (ModelInfer from gRPC callers). */
  readonly h2: H2Sessions;
  private turn = 0;

  constructor(url: string, settings: ChannelSettings) {
    super(url, url);
    const u = new URL(url);
    this.target = `${u.hostname}:${u.port || (u.protocol === 'grpcs:' ? '443' : '80')}`;
    const secure = u.protocol === 'grpcs:';
    const options: ChannelOptions = {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': settings.maxMessageBytes,
      'grpc.max_send_message_length': settings.maxMessageBytes,
    };
    if (settings.servername !== undefined) options['grpc.ssl_target_name_override'] = settings.servername;
    const creds = secure ? (settings.tls ?? credentials.createSsl()) : credentials.createInsecure();
    this.h2 = new H2Sessions(`${secure ? 'https' : 'http'}://${this.target}`, {
      sessions: Math.max(1, Math.min(settings.channels, MAX_CHANNELS)),
      tls: secure ? settings.tlsFiles : undefined,
      servername: settings.servername,
    });
    this.clients = Array.from(
      { length: Math.max(1, Math.min(settings.channels, MAX_CHANNELS)) },
      () => new Client(this.target, creds, options),
    );
  }

  /** The next channel, in turn. */
  client(): Client {
    const c = this.clients[this.turn]!;
    this.turn = (this.turn + 1) % this.clients.length;
    return c;
  }

  close(): Promise<void> {
    for (const c of this.clients) c.close();
    this.h2.close();
    return Promise.resolve();
  }
}
