import dns2 from 'dns2';

const { Packet } = dns2;
export type Packet = InstanceType<typeof Packet>;

export interface QueryOptions {
  name: string;
  type: number | string;
  class?: number;
  id?: number;
  rd?: boolean;
  /** `nsid`: an empty NSID option (RFC 5001 §2.1), as `dig +nsid` sends. */
  edns?: { udpSize?: number; dnssecOk?: boolean; version?: number; nsid?: boolean };
}

/**
 * A query built by dns2, an encoder independent of ours, so tests do not check our decoder
 * against our own encoder.
 */
export function buildQuery(options: QueryOptions): Buffer {
  const packet = new Packet();
  packet.header.id = options.id ?? 0x1234;
  packet.header.rd = options.rd === false ? 0 : 1;
  const type = typeof options.type === 'number' ? options.type : (Packet.TYPE as Record<string, number>)[options.type]!;
  packet.questions.push({ name: options.name, type, class: options.class ?? Packet.CLASS.IN } as never);
  if (options.edns) {
    const edns = Packet.Resource.EDNS([], {
      udpPayloadSize: options.edns.udpSize ?? 1232,
      doFlag: options.edns.dnssecOk ?? false,
      version: options.edns.version ?? 0,
    } as never);
    packet.additionals.push(Object.assign(edns, { name: '' }) as never);
  }
  const bytes = packet.toBuffer();
  if (!options.edns?.nsid) return bytes;
  // dns2 writes the OPT record last with empty RDATA: append option 3, length 0.
  const out = Buffer.concat([bytes, Buffer.from([0, 3, 0, 0])]);
  out.writeUInt16BE(4, bytes.length - 2);
  return out;
}

/** Parses a reply with dns2 and fails loudly when it is malformed. */
export function parseReply(bytes: Buffer): Packet {
  const packet = Packet.parse(bytes);
  if (packet.errors.length) throw new Error(`reply does not parse: ${packet.errors.map((e) => e.message).join('; ')}`);
  return packet;
}

export const TYPE = Packet.TYPE as Record<string, number>;
export const RCODE = Packet.RCODE as Record<string, number>;
