import { describe, expect, it } from 'vitest';
import { Lifecycle } from './lifecycle.js';

describe('Lifecycle', () => {
  const recorder = () => {
    const log: string[] = [];
    const start = (name: string) => () => {
      log.push(`start ${name}`);
      return name;
    };
    const stop = (failStop = false) => (name: string) => {
      log.push(`stop ${name}`);
      if (failStop) throw new Error(`${name} would not stop`);
    };
    return { log, start, stop };
  };

  it('stops in reverse order of start, each once', async () => {
    const { log, start, stop } = recorder();
    const life = new Lifecycle(() => {});
    await life.start('a', start('a'), stop());
    await life.start('b', async () => start('b')(), stop());
    await life.stop();
    await life.stop();
    expect(log).toEqual(['start a', 'start b', 'stop b', 'stop a']);
  });

  it('rolls back what started when a later start fails', async () => {
    const { log, start, stop } = recorder();
    const life = new Lifecycle(() => {});
    const run = async () => {
      await life.start('a', start('a'), stop());
      await life.start('b', () => Promise.reject(new Error('no port')), stop());
      await life.start('c', start('c'), stop());
    };
    await expect(run()).rejects.toThrow('no port');
    await life.stop();
    expect(log).toEqual(['start a', 'stop a']);
  });

  it('goes on stopping the rest when one stop throws, and names it', async () => {
    const { log, start, stop } = recorder();
    const errors: string[] = [];
    const life = new Lifecycle((name, error) => errors.push(`${name}: ${(error as Error).message}`));
    await life.start('a', start('a'), stop());
    await life.start('b', start('b'), stop(true));
    await life.stop();
    expect(log).toEqual(['start a', 'start b', 'stop b', 'stop a']);
    expect(errors).toEqual(['b: b would not stop']);
  });
});
