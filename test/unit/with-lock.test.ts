import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RuntimeError } from '../../src/errors.js';
import { withLock } from '../../src/state/with-lock.js';

// The lock is an abstract unix socket named after the directory: nothing is
// created on disk, and a unique name per test keeps parallel runs apart.
const lockDir = () => `/tmp/multiwan-lock-test/${randomUUID()}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('withLock', { timeout: 5_000 }, () => {
  it('returns the work result', async () => {
    await expect(withLock(lockDir(), async () => 42, 1_000)).resolves.toBe(42);
  });

  it('serialises two calls on the same directory: the second starts after the first ends', async () => {
    const dir = lockDir();
    const log: string[] = [];
    const work = (name: string, ms: number) => async () => {
      log.push(`${name} start`);
      await sleep(ms);
      log.push(`${name} end`);
      return name;
    };
    const first = withLock(dir, work('first', 150), 2_000);
    await sleep(20); // let the first take the lock
    const second = withLock(dir, work('second', 10), 2_000);
    await expect(Promise.all([first, second])).resolves.toEqual(['first', 'second']);
    expect(log).toEqual(['first start', 'first end', 'second start', 'second end']);
  });

  it('serialises several calls started at the same moment (pppd: ip-up for ppp0 and ppp1)', async () => {
    const dir = lockDir();
    let inside = 0;
    let most = 0;
    const work = async () => {
      inside++;
      most = Math.max(most, inside);
      await sleep(15);
      inside--;
    };
    await Promise.all(Array.from({ length: 5 }, () => withLock(dir, work, 3_000)));
    expect(most).toBe(1);
  });

  it('different directories do not block each other', async () => {
    const log: string[] = [];
    let releaseA!: () => void;
    const holdA = new Promise<void>((resolve) => (releaseA = resolve));
    const a = withLock(lockDir(), async () => {
      log.push('a start');
      await holdA;
      log.push('a end');
    }, 1_000);
    await sleep(20);
    // b runs to completion while a still holds its own lock.
    await withLock(lockDir(), async () => {
      log.push('b');
    }, 500);
    releaseA();
    await a;
    expect(log).toEqual(['a start', 'b', 'a end']);
  });

  it('releases the lock when the work throws', async () => {
    const dir = lockDir();
    await expect(
      withLock(dir, async () => {
        throw new Error('boom');
      }, 1_000),
    ).rejects.toThrow('boom');
    await expect(withLock(dir, async () => 'again', 500)).resolves.toBe('again');
  });

  it('gives up with a RuntimeError once the holder keeps it past the timeout', async () => {
    const dir = lockDir();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const holder = withLock(dir, () => held, 2_000);
    await sleep(20);
    const started = Date.now();
    const waiter = withLock(dir, async () => 'never', 100);
    await expect(waiter).rejects.toBeInstanceOf(RuntimeError);
    // (the seconds are rounded: a 100 ms test timeout reads "over 0 s")
    await expect(waiter).rejects.toThrow(
      /^another multiwan event has held the lock for over \d+ s; check for a hung multiwan process \(ps -C node\)$/,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(Date.now() - started).toBeLessThan(1_000);
    release();
    await holder;
    await expect(withLock(dir, async () => 'free', 500)).resolves.toBe('free');
  });
});
