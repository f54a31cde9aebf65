// A DNS server process for tests that answers every UDP query twice: first a forged reply with
// the wrong ID (what an off-path spoofer sends, RFC 5452), then the genuine one 30 ms later.
// Prints its port on stdout. Stopped by PID by the test.
import { createSocket } from 'node:dgram';
import dns2 from 'dns2';

const { Packet } = dns2;
const socket = createSocket('udp4');
socket.on('message', (message, peer) => {
  let query;
  try {
    query = Packet.parse(message);
  } catch {
    return;
  }
  const reply = (id, address) => {
    const r = new Packet({ id, qr: 1, rd: query.header.rd, ra: 1 });
    r.questions = query.questions;
    r.answers.push({ name: query.questions[0].name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl: 60, address });
    return r.toBuffer();
  };
  socket.send(reply((query.header.id + 1) & 0xffff, '6.6.6.6'), peer.port, peer.address);
  setTimeout(() => socket.send(reply(query.header.id, '192.0.2.77'), peer.port, peer.address), 30);
});
socket.bind(0, '127.0.0.1', () => console.log(JSON.stringify({ port: socket.address().port })));
