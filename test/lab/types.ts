// The lab's public types (re-exported by lab.ts).
import type { ADDR, IspRole, Uplink, UplinkSpec } from './address-plan.js';
import type { ExecOptions, ExecResult } from './exec.js';
import type { LabNamespaces } from './topology.js';

export interface LabOptions {
  /** Two simulated PPP links ppp0/ppp1 (default), or one (ppp0); ignored when `uplinks` is given. */
  links?: 1 | 2;
  /**
   * One uplink per ISP, isp1 first (at most 4): `'ppp'`, `'dhcp'`, `'static'`,
   * `'vpn'`, or a spec with options. The lab always has isp1 and isp2 (an
   * ISP without an uplink has no customer link).
   */
  uplinks?: Array<UplinkSpec['kind'] | UplinkSpec>;
  /** Dual stack: server, ISPs, delegated prefixes, LAN addresses from each prefix (default false). */
  ipv6?: boolean;
}

export interface PppResult extends ExecResult {
  hookFailed: boolean;
}

/** A p2p uplink's interface (ppp0, ppp1, tun0…; it was 'ppp0' | 'ppp1' before uplink kinds). */
export type PppIface = string;

export interface WhoamiOptions {
  count?: number;
  port?: number;
  /** Per-connection timeout. */
  timeoutMs?: number;
  /**
   * Where the connections come from: a namespace of the lab (e.g. `lab.ns.rtr`
   * for locally originated traffic), or an IPv4/IPv6 address to bind to in the
   * LAN namespace (add it to `eth0` first; the lab's IPv6 client addresses are
   * there already). Default: the LAN client 192.168.10.2.
   */
  from?: string;
  /** Where to connect (default the server, 198.51.100.10; ADDR6.server for IPv6); see addServerAddress(). */
  host?: string;
  /** Open every connection from this local port (the connections then run one at a time). */
  sport?: number;
  /** UDP queries (one new socket each) to a `--udp` listener instead of TCP connections. */
  udp?: boolean;
}

export interface LabDirs {
  root: string;
  /** bound on /etc/ppp/ip-up.d and ip-down.d in the router sandbox */
  ipUpD: string;
  ipDownD: string;
  /** bound on /etc/multiwan */
  etc: string;
  /** bound on /run/multiwan */
  run: string;
  /** mirrors every other path the router sandbox binds: `fs` + installed path (see sandboxPath) */
  fs: string;
}

export interface Lab {
  id: string;
  ns: LabNamespaces;
  addr: typeof ADDR;
  /** the uplinks as built, isp1 first */
  uplinks: readonly Uplink[];
  ipv6: boolean;
  dirs: LabDirs;
  exec(ns: string, argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  installHooks(upBundle: string, downBundle: string): Promise<void>;
  writeConfig(toml: string): Promise<void>;
  /** opts.timeoutMs bounds the whole run (default 30 s); on expiry everything it started is killed and hookFailed is true. */
  ppp(action: 'up' | 'down', iface: PppIface, opts?: { ipparam?: string; args?: string[]; timeoutMs?: number }): Promise<PppResult>;
  /** The carrier of an uplink: its ISP end goes down or up. */
  carrier(iface: string, up: boolean): Promise<void>;
  whoami(opts?: WhoamiOptions): Promise<Record<string, number>>;
  /** `ip rule`, `ip route show table all` and `nft list ruleset` of the router (counter values blanked). */
  snapshot(): Promise<{ rules: string; routes: string; nft: string }>;
  destroy(): Promise<void>;
}

export type { IspRole };
