// How busy the rest of the machine was during the bench: CPU time of the
// whole machine (/proc/stat) minus that of this process and everything it
// waited for (its children, the lab's hooks, /proc/self/stat).
import { readFileSync } from 'node:fs';

export interface CpuMark {
  at: number;
  machineTicks: number;
  ownTicks: number;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export function cpuMark(): CpuMark {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: everything but idle and iowait
  const machineTicks = [0, 1, 2, 5, 6, 7].reduce((sum, i) => sum + (cpu[i] ?? 0), 0);
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  // after "pid (comm) ": state is index 0, so utime stime cutime cstime are 11..14
  const ownTicks = fields.slice(11, 15).reduce((a, b) => a + b, 0);
  return { at: performance.now(), machineTicks, ownTicks };
}

/** CPUs the rest of the machine kept busy on average between two marks. */
export function othersCpus(from: CpuMark, to: CpuMark): number {
  const seconds = (to.at - from.at) / 1000;
  if (seconds <= 0) return 0;
  const others = to.machineTicks - from.machineTicks - (to.ownTicks - from.ownTicks);
  return Math.max(0, others / TICKS_PER_SECOND / seconds);
}
