import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

/** Sends one datagram and returns the first reply, or null when none comes within `timeoutMs`. */
export async function udpExchange(port: number, message: Buffer, options: { host?: string; timeoutMs?: number } = {}): Promise<Buffer | null> {
  const host = options.host ?? '127.0.0.1';
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  try {
    return await new Promise<Buffer | null>((resolve, reject) => {
      const timer = setTimeout(() => resolve(null), options.timeoutMs ?? 2000);
      socket.once('message', (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      socket.once('error', reject);
      socket.send(message, port, host);
    });
  } finally {
    socket.close();
  }
}

/**
 * Opens one TCP connection, writes `payload` (already framed, or frames to be length-prefixed),
 * and collects `expected` framed replies (RFC 1035 §4.2.2). Rejects on timeout.
 */
export async function tcpExchange(
  port: number,
  frames: readonly Buffer[],
  options: { host?: string; expected?: number; timeoutMs?: number; raw?: Buffer } = {},
): Promise<Buffer[]> {
  const expected = options.expected ?? frames.length;
  const socket = connect({ port, host: options.host ?? '127.0.0.1' });
  try {
    return await new Promise<Buffer[]>((resolve, reject) => {
      const replies: Buffer[] = [];
      let pending = Buffer.alloc(0);
      const timer = setTimeout(() => reject(new Error(`got ${replies.length} of ${expected} TCP replies`)), options.timeoutMs ?? 3000);
      socket.on('data', (chunk) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
          const len = pending.readUInt16BE(0);
          replies.push(pending.subarray(2, 2 + len));
          pending = pending.subarray(2 + len);
        }
        if (replies.length >= expected) {
          clearTimeout(timer);
          resolve(replies);
        }
      });
      socket.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      socket.on('connect', () => {
        const framed = frames.map((f) => {
          const b = Buffer.alloc(2 + f.length);
          b.writeUInt16BE(f.length, 0);
          f.copy(b, 2);
          return b;
        });
        socket.write(Buffer.concat([...framed, options.raw ?? Buffer.alloc(0)]));
      });
    });
  } finally {
    socket.destroy();
  }
}
