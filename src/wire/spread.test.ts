import { describe, expect, it } from 'vitest';
import { parseReply } from '../../test/support/packets.js';
import { seeded } from '../../test/support/random.js';
import { RRType } from '../dns/constants.js';
import type { RR } from '../dns/records.js';
import type { Query } from './query.js';
import { buildTemplate, render, spreadRendered } from './response.js';
import { weightedOrder } from './spread.js';

describe('weightedOrder (RFC 2782 selection)', () => {
  it('puts lower priorities first, whatever the weights and draws', () => {
    const blocks = [
      { priority: 20, weight: 100 },
      { priority: 10, weight: 1 },
      { priority: 30, weight: 50 },
      { priority: 10, weight: 1 },
    ];
    const random = seeded(1);
    for (let i = 0; i < 200; i++) {
      const order = weightedOrder(blocks, random);
      expect(order.map((k) => blocks[k]!.priority)).toEqual([10, 10, 20, 30]);
      expect([...order].sort()).toEqual([0, 1, 2, 3]);
    }
  });

  it('chooses the first record of a priority in proportion to its weight (10/30/60 of 100,000 draws)', () => {
    const blocks = [
      { priority: 0, weight: 10 },
      { priority: 0, weight: 30 },
      { priority: 0, weight: 60 },
    ];
    const random = seeded(42);
    const first = [0, 0, 0];
    for (let i = 0; i < 100_000; i++) first[weightedOrder(blocks, random)[0]!]!++;
    expect(first.map((n) => Math.round(n / 1000))).toEqual([10, 30, 60]);
  });

  it('orders the rest by weight too: after the first pick, the next is chosen from what remains', () => {
    const blocks = [
      { priority: 5, weight: 1 },
      { priority: 5, weight: 99 },
    ];
    // A draw of 0.5 of 100 lands in the second record's share; what remains comes next.
    expect(weightedOrder(blocks, () => 0.5)).toEqual([1, 0]);
    expect(weightedOrder(blocks, () => 0.001)).toEqual([0, 1]);
  });

  it('keeps the written order for records of weight 0 only', () => {
    const blocks = [
      { priority: 1, weight: 0 },
      { priority: 1, weight: 0 },
      { priority: 1, weight: 0 },
    ];
    expect(weightedOrder(blocks, Math.random)).toEqual([0, 1, 2]);
  });
});

describe('spreadRendered on replies render() shortened', () => {
  const a = (name: string, address: string): RR => ({ name, type: RRType.A, ttl: 30, data: { type: RRType.A, address } });
  const template = buildTemplate({
    question: { name: 'web.t', type: RRType.A, class: 1 },
    rcode: 0,
    authoritative: true,
    answer: ['192.0.2.1', '192.0.2.2', '192.0.2.3'].map((ip) => a('web.t', ip)),
    authority: [],
    // Enough additional data that it cannot fit in 512 octets; owners are pointers (to the
    // question name), so the run is rotatable. (A first-seen owner written in full is not.)
    additional: Array.from({ length: 40 }, (_, i) => a('web.t', `198.51.100.${i}`)),
  });
  const query = { id: 7, flags: 0x0100, nameInline: false, edns: undefined } as unknown as Query;

  it('rotates the answer of a reply whose additional section was dropped, and writes nothing past it', () => {
    const reply = render(template, query, 512, 1232);
    expect(reply.length).toBe(template.additionalStart);
    spreadRendered(reply, template, Math.random); // turn 0: written order
    spreadRendered(reply, template, Math.random); // turn 1: one step
    const parsed = parseReply(reply);
    expect(parsed.additionals).toHaveLength(0);
    expect(parsed.answers.map((r) => (r as unknown as { address: string }).address)).toEqual(['192.0.2.2', '192.0.2.3', '192.0.2.1']);
  });

  it('leaves a truncated reply (question only, TC) as it is', () => {
    const reply = render(template, query, 20, 1232);
    const before = Buffer.from(reply);
    spreadRendered(reply, template, Math.random);
    spreadRendered(reply, template, Math.random);
    expect(reply.equals(before)).toBe(true);
    expect(parseReply(reply).header.tc).toBe(1);
  });

  it('rotates the additional run too when the whole reply fits', () => {
    const first = (turns: number) => {
      const reply = render(template, query, 65535, 1232);
      for (let i = 0; i < turns; i++) spreadRendered(reply, template, Math.random);
      return (parseReply(reply).additionals[0] as unknown as { address: string }).address;
    };
    // The template's turn counter carries on from the calls above (4 so far): a new position each time.
    expect(new Set([first(1), first(1), first(1)]).size).toBe(3);
  });
});

describe('SRV orders kept per template', () => {
  const srv = (target: string, weight: number): RR => ({ name: '_x._tcp.t', type: RRType.SRV, ttl: 30, data: { type: RRType.SRV, priority: 0, weight, port: 80, target } });
  const a = (name: string, address: string): RR => ({ name, type: RRType.A, ttl: 30, data: { type: RRType.A, address } });
  const targets = ['one.svc.t', 'two.svc.t', 'three.svc.t'];
  const template = buildTemplate({
    question: { name: '_x._tcp.t', type: RRType.SRV, class: 1 },
    rcode: 0,
    authoritative: true,
    answer: targets.map((t, i) => srv(t, i + 1)),
    authority: [],
    // Glue whose owners point into the SRV targets; enough of it that 512 octets drop it all.
    additional: targets.flatMap((t) => Array.from({ length: 12 }, (_, i) => a(t, `192.0.2.${i + 1}`))),
  });
  const query = { id: 7, flags: 0x0100, nameInline: false, edns: undefined } as unknown as Query;

  it('re-aims the glue right in a full reply after the same order was first drawn for one without glue', () => {
    const last = () => 0.999; // always the last record remaining: order three, two, one
    const small = render(template, query, 512, 1232);
    expect(small.length).toBe(template.additionalStart);
    spreadRendered(small, template, last);
    expect(parseReply(small).answers.map((r) => (r as unknown as { target: string }).target)).toEqual(['three.svc.t', 'two.svc.t', 'one.svc.t']);
    for (let i = 0; i < 3; i++) {
      const full = render(template, query, 65535, 1232);
      spreadRendered(full, template, last);
      const parsed = parseReply(full);
      expect(parsed.answers.map((r) => (r as unknown as { target: string }).target)).toEqual(['three.svc.t', 'two.svc.t', 'one.svc.t']);
      // Every glue record still names one of the targets, 12 each.
      const owners = parsed.additionals.map((r) => r.name);
      expect(targets.map((t) => owners.filter((o) => o === t).length)).toEqual([12, 12, 12]);
    }
  });
});
