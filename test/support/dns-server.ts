// A small authoritative DNS server on loopback for discovery tests: UDP and TCP
// on one port, answering A queries with whatever `answer` holds now (AAAA with
// no records), or SERVFAIL when `fail` is set. A UDP answer past 512 bytes is
// sent truncated (TC) so the resolver asks again over TCP, as real servers do.
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';

export interface DnsServer {
  /** `127.0.0.1:PORT`, for Resolver.setServers / JUNCTION_DNS_SERVERS. */
  address: string;
  answer: string[];
  fail: boolean;
  queries: number;
  close(): Promise<void>;
}

function questionEnd(msg: Buffer): number {
  let i = 12;
  while (i < msg.length && msg[i] !== 0) i += msg[i]! + 1;
  return i + 5; // the zero label, qtype, qclass
}

function reply(query: Buffer, server: DnsServer, udp: boolean): Buffer {
  const qEnd = questionEnd(query);
  const qtype = query.readUInt16BE(qEnd - 4);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  const question = query.subarray(12, qEnd);
  if (server.fail) {
    header.writeUInt16BE(0x8182, 2); // QR RD RA, SERVFAIL
    header.writeUInt16BE(1, 4);
    return Buffer.concat([header, question]);
  }
  const addresses = qtype === 1 ? server.answer : [];
  const answers = addresses.map((a) => {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // the question's name
    rr.writeUInt16BE(1, 2); // A
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(1, 6); // TTL 1 s
    rr.writeUInt16BE(4, 10);
    a.split('.').forEach((octet, k) => rr.writeUInt8(Number(octet), 12 + k));
    return rr;
  });
  const size = 12 + question.length + answers.length * 16;
  const truncated = udp && size > 512;
  header.writeUInt16BE(truncated ? 0x8380 : 0x8180, 2); // QR AA? no: QR (TC) RD RA
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(truncated ? 0 : answers.length, 6);
  return Buffer.concat([header, question, ...(truncated ? [] : answers)]);
}

/** Resolves when the socket is bound; rejects with the bind's error (EADDRINUSE) instead of its being thrown uncaught. */
function bound(start: (done: () => void) => void, emitter: Server | Socket): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const failed = (err: Error) => reject(err);
    emitter.once('error', failed);
    start(() => {
      emitter.off('error', failed);
      resolve();
    });
  });
}

export async function startDnsServer(answer: string[]): Promise<DnsServer> {
  let udp: Socket;
  let tcp: Server;
  const server: DnsServer = {
    address: '',
    answer,
    fail: false,
    queries: 0,
    close: async () => {
      udp.close();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
  // UDP and TCP on one port number, as a resolver expects. The UDP port is free, but another
  // process may hold the same TCP port (test files run in parallel): on a clash, try again.
  for (let attempt = 1; ; attempt++) {
    udp = createSocket('udp4');
    await bound((done) => udp.bind(0, '127.0.0.1', done), udp);
    tcp = createServer((socket) => {
      let buffered = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          const msg = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
          buffered = buffered.subarray(2 + msg.length);
          server.queries++;
          const out = reply(msg, server, false);
          const len = Buffer.alloc(2);
          len.writeUInt16BE(out.length);
          socket.write(Buffer.concat([len, out]));
        }
      });
      socket.on('error', () => undefined);
    });
    try {
      const port = udp.address().port;
      await bound((done) => tcp.listen(port, '127.0.0.1', done), tcp);
      server.address = `127.0.0.1:${port}`;
      break;
    } catch (err) {
      udp.close();
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 20) throw err;
    }
  }
  udp.on('message', (msg, from) => {
    server.queries++;
    udp.send(reply(msg, server, true), from.port, from.address);
  });
  return server;
}
