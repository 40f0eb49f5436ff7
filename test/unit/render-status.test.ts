import { describe, expect, it } from 'vitest';
import { renderStatus } from '../../src/core/render-status.js';
import { addSample, summarize } from '../../src/monitor/link-stats.js';
import { ids, isp1Up, isp2Up, twoLinks } from '../fixtures/configs.js';

describe('renderStatus', () => {
  it('one line per link: state, since, probing figures, table and mark', () => {
    const out = { ...isp1Up, healthy: false, healthReason: 'probes', healthSince: '2026-01-01T00:01:00.000Z' };
    const text = renderStatus(twoLinks, { isp1: out, isp2: isp2Up }, ids, ['isp2'], {
      isp1: { link: 'isp1', probing: true, loss: 1, windows: 50, updated: 'x' },
      isp2: { link: 'isp2', probing: true, lastRttMs: 1.25, loss: 0.02, windows: 50, updated: 'x' },
    });
    expect(text.split('\n')).toEqual([
      'isp1  ppp0  up, out of service (probes)  since 2026-01-01T00:01:00.000Z  rtt -  loss 100%  address 100.64.1.2 peer 100.64.1.1  table 201 mark 0x100  weight 8',
      'isp2  ppp1  up, in service  since 2026-01-01T00:00:00.000Z  rtt 1.25 ms  loss 2%  address 100.64.2.2 peer 100.64.2.1  table 202 mark 0x200  weight 2',
    ]);
  });

  it('a link never seen, and one that is down', () => {
    const text = renderStatus(twoLinks, { isp2: { link: 'isp2', iface: 'ppp1', since: isp2Up.since } }, ids, []);
    expect(text).toMatch(/^isp1  ppp0  never seen  table 201 mark 0x100  weight 8$/m);
    expect(text).toMatch(/^isp2  ppp1  down  since /m);
  });
});

describe('link stats', () => {
  it('loss over the kept windows and the last RTT seen', () => {
    let samples = addSample([], { ok: true, sent: 6, replies: 6, rttMs: 2 });
    samples = addSample(samples, { ok: false, sent: 6, replies: 0 });
    expect(summarize(samples)).toEqual({ lastRttMs: 2, loss: 0.5, windows: 2 });
  });

  it('keeps only the last windows', () => {
    let samples: ReturnType<typeof addSample> = [];
    for (let i = 0; i < 60; i++) samples = addSample(samples, { ok: true, sent: 1, replies: 1 }, 50);
    expect(samples).toHaveLength(50);
    expect(summarize([])).toEqual({ loss: 0, windows: 0 });
  });
});
