import { describe, expect, it } from 'vitest';
import { RecordTable } from './table.js';

describe('RecordTable listeners', () => {
  it('reports a listener that throws under its own name, and still tells the others', () => {
    const errors: string[] = [];
    const table = new RecordTable({ sources: ['a'], onListenerError: (name, error) => errors.push(`${name}: ${(error as Error).message}`) });
    const seen: number[] = [];
    table.onSwap(() => {
      throw new Error('journal full');
    }, 'ixfr-journal');
    table.onSwap((snapshot) => seen.push(snapshot.generation), 'zone-log');
    // The publishing source is not blamed: publish returns normally.
    const snapshot = table.publish('a', new Map());
    expect(errors).toEqual(['ixfr-journal: journal full']);
    expect(seen).toEqual([snapshot.generation]);
  });

  it('without a handler, throws the first error once every listener has run', () => {
    const table = new RecordTable({ sources: ['a'] });
    const seen: string[] = [];
    table.onSwap(() => {
      throw new Error('first');
    });
    table.onSwap(() => seen.push('second ran'));
    expect(() => table.publish('a', new Map())).toThrow('first');
    expect(seen).toEqual(['second ran']);
  });
});
