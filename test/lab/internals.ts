// What a lab keeps beside its public face: the processes it must stop in
// destroy(), shared by the modules that start them.
import type { IspRole } from './address-plan.js';
import type { Background } from './exec.js';
import type { IspDhcpOptions } from './isp-dhcp.js';
import type { Lab } from './types.js';

export interface LabInternals {
  /** every process the lab started; destroy() stops them all */
  background: Set<Background>;
  /** starts a process that prints "ready" once it listens */
  start(ns: string, argv: string[], readyTimeoutMs?: number): Promise<Background>;
  /** LAN listeners of addPortForward, by port */
  listeners: Map<number, Background>;
  /** the DHCP/RA servers each ISP runs now */
  ispServers: Map<IspRole, Background[]>;
  /** the options each ISP's servers run with (startIspDhcp lays changes over them) */
  ispDhcpOptions: Map<IspRole, IspDhcpOptions>;
}

const internals = new WeakMap<Lab, LabInternals>();

export function setInternals(lab: Lab, i: LabInternals): void {
  internals.set(lab, i);
}

export function internalsOf(lab: Lab): LabInternals {
  const i = internals.get(lab);
  if (!i) throw new Error('not a lab created by createLab()');
  return i;
}
