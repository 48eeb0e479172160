// A TCP proxy in front of a real server (PostgreSQL, Redis) that a test can
// cut (the server is down: connections dropped, new ones refused) and restore
// on the same port.
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function tcpProxy(host: string, port: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const proxy: TcpProxy = {
    port: 0,
    async cut() {
      for (const s of sockets) s.destroy();
      sockets.clear();
      const s = server;
      server = undefined;
      if (s !== undefined) await new Promise((r) => s.close(r));
    },
    async restore() {
      server = createServer((client) => {
        const upstream = connect(port, host);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('error', () => undefined);
          s.on('close', () => {
            sockets.delete(s);
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream);
        upstream.pipe(client);
      });
      await new Promise<void>((r) => server!.listen(proxy.port, '127.0.0.1', r));
      proxy.port = (server.address() as AddressInfo).port;
    },
    close: () => proxy.cut(),
  };
  await proxy.restore();
  return proxy;
}
