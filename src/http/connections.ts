// One guard for the connections of any listening server (node:net underneath:
// http, https, http2 plain or secure). What Node does not do for a server on
// its own, and what the router needs so that sockets can never exhaust the
// process's file descriptors or keep it from stopping:
//
// - a connection that has sent nothing within `firstByteTimeoutMs` is
//   destroyed (for TLS: not even a ClientHello). Node 20's `headersTimeout`
//   also covers a silent HTTP/1 connection, but only once its parser exists
//   (after the TLS handshake) and only on servers that check it; this is the
//   one rule for every listener. A stalled handshake is cut by the TLS
//   server's `handshakeTimeout` (`listener.ts` sets it; the reply that closes
//   it is `boundary.ts`'s);
// - at most `maxConnections` open: a connection that arrives at the cap sheds
//   the oldest idle connection (no request in flight); only when none is idle
//   is the newcomer refused. Both are counted (`onShed`) and logged at most
//   once a second;
// - `drain(graceMs)`: stop accepting, close idle connections at once, let
//   requests in flight finish (HTTP/1 replies not yet started say
//   `connection: close`), destroy whatever is left at the deadline.
//
// Cost: one small entry per connection (a Map entry and a 'close' listener);
// nothing per request. One timer per listener sweeps for silent connections.
import { readFileSync } from 'node:fs';
import type { Server as NetServer, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface ConnectionLimits {
  /** Open connections per listener (default: from the process's file-descriptor limit, `defaultMaxConnections`). */
  maxConnections?: number;
  /** A connection that has sent no byte by then is destroyed (default 10 s). */
  firstByteTimeoutMs?: number;
  /** How often silent connections are looked for (default 1 s, or less for a shorter first-byte budget). */
  checkIntervalMs?: number;
}

export type ShedKind = 'idle_shed' | 'refused';

export interface ConnectionHooks {
  /**
   * Whether a connection has a request in flight (kept at the cap, and until
   * the drain deadline). Told the socket the protocol reads (a TLS socket once
   * its handshake is done, else the accepted one). The default reads HTTP/1:
   * a response assigned to the socket and not yet finished.
   */
  busy?: (socket: Socket) => boolean;
  /** Counted for each connection shed or refused at the cap (a metric). */
  onShed?: (kind: ShedKind) => void;
  /** Told at most once a second while connections are shed or refused. */
  log?: (fields: Record<string, unknown>, msg: string) => void;
  /** The listener's name in that log line (`data plane`, `admin API`, `gRPC`). */
  name?: string;
}

export interface ConnectionGuard {
  /** Connections open now (accepted, not yet closed). */
  readonly open: number;
  readonly maxConnections: number;
  /**
   * Stop accepting, close idle connections now, let requests in flight finish,
   * destroy what is left after `graceMs`. Resolves once every connection is
   * closed and the server stopped. Calling it again returns the same promise.
   */
  drain(graceMs: number): Promise<void>;
}

/** A connection as the guard knows it: the accepted socket, and the one its protocol speaks over (TLS). */
interface Entry {
  raw: Socket;
  app: Socket;
  since: number;
}

const DEFAULT_FIRST_BYTE_MS = 10_000;
/** What the guard leaves of the descriptor limit for upstream sockets, files, the store and the gRPC listener. */
const FD_SHARE = 0.6;
const FALLBACK_MAX_CONNECTIONS = 10_000;
const DRAIN_POLL_MS = 50;
const LOG_EVERY_MS = 1_000;

/** The soft RLIMIT_NOFILE of this process, from /proc/self/limits (Linux); undefined elsewhere or unlimited. */
export function fileDescriptorLimit(limitsFile = '/proc/self/limits'): number | undefined {
  try {
    const line = readFileSync(limitsFile, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line === undefined ? undefined : /^Max open files\s+(\d+)/.exec(line)?.[1];
    return soft === undefined ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

/**
 * A listener's default cap: 60 % of the descriptor limit (1,024 → 614), the
 * rest left for upstream sockets and files; 10,000 where the limit is unknown.
 */
export function defaultMaxConnections(fdLimit = fileDescriptorLimit()): number {
  if (fdLimit === undefined || !Number.isFinite(fdLimit)) return FALLBACK_MAX_CONNECTIONS;
  return Math.max(16, Math.floor(fdLimit * FD_SHARE));
}

/** HTTP/1 (http and https servers): a response is assigned to the socket and not yet finished. */
export function http1Busy(socket: Socket): boolean {
  return (socket as Socket & { _httpMessage?: unknown })._httpMessage != null;
}

export function guardConnections(
  server: NetServer,
  limits: ConnectionLimits = {},
  hooks: ConnectionHooks = {},
): ConnectionGuard {
  const max = limits.maxConnections ?? defaultMaxConnections();
  const firstByteMs = limits.firstByteTimeoutMs ?? DEFAULT_FIRST_BYTE_MS;
  const busy = hooks.busy ?? http1Busy;
  // Insertion order is age: the first idle entry met is the oldest idle one.
  const entries = new Map<Socket, Entry>();
  let draining: Promise<void> | undefined;
  let shed = 0;
  let refused = 0;
  let lastLog = 0;

  const note = (kind: ShedKind) => {
    if (kind === 'refused') refused++;
    else shed++;
    hooks.onShed?.(kind);
    const now = Date.now();
    if (hooks.log !== undefined && now - lastLog >= LOG_EVERY_MS) {
      lastLog = now;
      hooks.log(
        { listener: hooks.name, open: entries.size, maxConnections: max, shed, refused },
        'connection cap reached: oldest idle connections shed, new ones refused when none is idle',
      );
      shed = 0;
      refused = 0;
    }
  };

  const isBusy = (e: Entry) => busy(e.app);

  const onConnection = (raw: Socket) => {
    if (draining !== undefined) {
      raw.destroy();
      return;
    }
    if (entries.size >= max) {
      let oldestIdle: Entry | undefined;
      for (const e of entries.values()) {
        if (!isBusy(e)) {
          oldestIdle = e;
          break;
        }
      }
      if (oldestIdle === undefined) {
        note('refused');
        raw.destroy();
        return;
      }
      entries.delete(oldestIdle.raw);
      destroy(oldestIdle);
      note('idle_shed');
    }
    const entry: Entry = { raw, app: raw, since: performance.now() };
    entries.set(raw, entry);
    raw.once('close', () => entries.delete(raw));
  };
  // Before the protocol's own listener: a refused socket is destroyed before anything is built on it.
  server.prependListener('connection', onConnection);
  // After a TLS handshake the protocol speaks over the TLS socket (its `_parent` is the accepted one).
  server.on('secureConnection', (tlsSocket: Socket & { _parent?: Socket }) => {
    const entry = tlsSocket._parent === undefined ? undefined : entries.get(tlsSocket._parent);
    if (entry !== undefined) {
      entry.app = tlsSocket;
      tlsSocket.once('close', () => {
        if (!entry.raw.destroyed) entry.raw.destroy();
      });
    }
  });

  // Out of descriptors (EMFILE) an accept fails: Node emits it on the server, which would end the process
  // unhandled. Once listening, it is logged (at most once a second) and the server keeps accepting.
  let lastAcceptError = 0;
  server.once('listening', () =>
    server.on('error', (err: NodeJS.ErrnoException) => {
      const now = Date.now();
      if (now - lastAcceptError < LOG_EVERY_MS) return;
      lastAcceptError = now;
      hooks.log?.(
        { listener: hooks.name, open: entries.size, err: err.code ?? String(err) },
        'accepting a connection failed',
      );
    }),
  );

  // One sweep per listener: connections that never sent a byte.
  const sweep = setInterval(
    () => {
      const cutoff = performance.now() - firstByteMs;
      for (const e of entries.values()) {
        if (e.since > cutoff) break; // younger from here on
        if (e.raw.bytesRead === 0) destroy(e);
      }
    },
    limits.checkIntervalMs ?? Math.min(1_000, Math.max(10, Math.floor(firstByteMs / 4))),
  );
  sweep.unref();
  server.once('close', () => clearInterval(sweep));

  const closeIdle = () => {
    for (const e of entries.values()) if (!isBusy(e)) destroy(e);
  };

  return {
    get open() {
      return entries.size;
    },
    maxConnections: max,
    drain(graceMs: number): Promise<void> {
      draining ??= new Promise<void>((resolve) => {
        clearInterval(sweep);
        let stopped = false;
        const finish = () => {
          if (entries.size > 0 || !stopped) return;
          clearInterval(poll);
          clearTimeout(deadline);
          resolve();
        };
        // Replies not yet started end their connection (HTTP/1 `connection: close`).
        for (const e of entries.values()) {
          const res = (e.app as Socket & { _httpMessage?: { headersSent?: boolean; shouldKeepAlive?: boolean } })
            ._httpMessage;
          if (res != null && res.headersSent === false) res.shouldKeepAlive = false;
        }
        const poll = setInterval(() => {
          closeIdle();
          finish();
        }, DRAIN_POLL_MS);
        const deadline = setTimeout(() => {
          for (const e of entries.values()) destroy(e);
          // Every socket is destroyed; their 'close' events (and the server's) follow in this turn or the next.
          setImmediate(() => {
            stopped = true;
            entries.clear();
            finish();
          });
        }, graceMs);
        server.close(() => {
          stopped = true;
          finish();
        });
        closeIdle();
        finish();
      });
      return draining;
    },
  };
}

function destroy(e: Entry): void {
  if (e.app !== e.raw && !e.app.destroyed) e.app.destroy();
  if (!e.raw.destroyed) e.raw.destroy();
}
