/** What `multiwan status` shows of a link's recent probing. Pure. */
export interface WindowSample {
  ok: boolean;
  sent: number;
  replies: number;
  rttMs?: number;
}

export interface LinkStats {
  /** The most recent window's mean RTT. */
  lastRttMs?: number;
  /** Share of probes unanswered over the recent windows, 0..1. */
  loss: number;
  windows: number;
}

/** Keeps the last `keep` windows. */
export function addSample(samples: readonly WindowSample[], sample: WindowSample, keep = 50): WindowSample[] {
  const next = [...samples, sample];
  return next.length > keep ? next.slice(next.length - keep) : next;
}

export function summarize(samples: readonly WindowSample[]): LinkStats {
  const sent = samples.reduce((n, s) => n + s.sent, 0);
  const replies = samples.reduce((n, s) => n + Math.min(s.replies, s.sent), 0);
  const withRtt = [...samples].reverse().find((s) => s.rttMs !== undefined);
  return {
    ...(withRtt?.rttMs !== undefined ? { lastRttMs: Math.round(withRtt.rttMs * 100) / 100 } : {}),
    loss: sent ? Math.round(((sent - replies) / sent) * 1000) / 1000 : 0,
    windows: samples.length,
  };
}
