// HTTP/2 sessions to one gRPC replica for the stream proxy (h2-infer.ts):
// opened on first use, a few per replica used in turn (one session
// multiplexes many calls; more than one spreads framing work and keeps one
// slow connection from holding every call), dropped when they close, fail or
// are told to go away, and opened again on the next call. The receive window
// is large so a reply is not slowed by window updates; what the upstream may
// push unread stays bounded by it.
import { connect, type ClientHttp2Session, type SecureClientSessionOptions } from 'node:http2';

/** Per-session and per-stream receive windows. */
const SESSION_WINDOW = 8 * 1024 * 1024;
const STREAM_WINDOW = 4 * 1024 * 1024;

export interface H2Settings {
  /** Sessions per replica at most. */
  sessions: number;
  /** For grpcs:// replicas: the backend's TLS files and server name. */
  tls?:
    | { ca?: Buffer | string | undefined; cert?: Buffer | string | undefined; key?: Buffer | string | undefined }
    | undefined;
  servername?: string | undefined;
}

export class H2Sessions {
  private readonly open: Array<ClientHttp2Session | undefined>;
  private turn = 0;
  private closed = false;

  constructor(
    /** http://host:port or https://host:port. */
    private readonly authority: string,
    private readonly settings: H2Settings,
  ) {
    this.open = new Array<ClientHttp2Session | undefined>(Math.max(1, settings.sessions));
  }

  /** A live session, in turn (connecting if its slot is empty). */
  session(): ClientHttp2Session {
    if (this.closed) throw new Error('the replica was closed');
    const slot = this.turn;
    this.turn = (this.turn + 1) % this.open.length;
    const have = this.open[slot];
    if (have !== undefined && !have.closed && !have.destroyed) return have;
    const options: SecureClientSessionOptions = {
      settings: { initialWindowSize: STREAM_WINDOW, enablePush: false },
      ...(this.settings.tls ?? {}),
      ...(this.settings.servername !== undefined ? { servername: this.settings.servername } : {}),
    };
    const s = connect(this.authority, options);
    s.on('connect', () => {
      try {
        s.setLocalWindowSize(SESSION_WINDOW);
      } catch {
        // gone already
      }
    });
    const drop = () => {
      if (this.open[slot] === s) this.open[slot] = undefined;
    };
    // A session error fails its streams (each call sees it); the session itself is only dropped.
    s.on('error', drop);
    s.on('goaway', drop);
    s.on('close', drop);
    s.unref(); // an idle session never keeps the process alive
    this.open[slot] = s;
    return s;
  }

  close(): void {
    this.closed = true;
    for (const s of this.open) s?.close();
    this.open.fill(undefined);
  }
}
