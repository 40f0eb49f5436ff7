// Whether the lab can run here, as a skip reason for the tests.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { STD_PATH } from './exec.js';

function onPath(cmd: string): boolean {
  return STD_PATH.split(':').some((dir) => existsSync(path.join(dir, cmd)));
}

/** undefined when the lab can run here; otherwise why it cannot (a skip reason). */
export function needsRoot(): string | undefined {
  if (process.platform !== 'linux') return 'network-namespace lab needs Linux';
  if (process.getuid?.() !== 0) return 'network-namespace lab needs root (run the e2e tests as root)';
  const missing = ['ip', 'nft', 'unshare', 'run-parts', 'mount'].filter((c) => !onPath(c));
  if (missing.length > 0) return `network-namespace lab needs ${missing.join(', ')} on PATH`;
  if (!existsSync('/etc/ppp/ip-up') || !existsSync('/etc/ppp/ip-down')) {
    return 'network-namespace lab needs /etc/ppp/ip-up and /etc/ppp/ip-down (apt install ppp)';
  }
  return undefined;
}

/** The uplink clients and ISP servers the lab can run, with what each needs on the host. */
const TOOLS = {
  dhclient: { files: ['/sbin/dhclient-script', '/etc/dhcp/dhclient-enter-hooks.d', '/etc/dhcp/dhclient-exit-hooks.d', '/var/lib/dhcp'], pkg: 'isc-dhcp-client' },
  dhcpcd: { files: ['/usr/lib/dhcpcd/dhcpcd-run-hooks', '/usr/lib/dhcpcd/dhcpcd-hooks', '/var/lib/dhcpcd'], pkg: 'dhcpcd-base' },
  ifup: { files: ['/etc/network/if-up.d', '/etc/network/if-post-down.d', '/etc/network/interfaces'], pkg: 'ifupdown' },
  dnsmasq: { files: [], pkg: 'dnsmasq-base' },
  dhcpd: { files: [], pkg: 'isc-dhcp-server' },
  ipv6up: { files: ['/etc/ppp/ipv6-up', '/etc/ppp/ipv6-down', '/etc/ppp/ipv6-up.d', '/etc/ppp/ipv6-down.d'], pkg: 'ppp' },
} as const;
export type LabTool = keyof typeof TOOLS;

/**
 * needsRoot(), plus the named clients/servers (program on PATH and the
 * directories the lab binds over): undefined, or a skip reason.
 */
export function needsTools(...tools: LabTool[]): string | undefined {
  const base = needsRoot();
  if (base) return base;
  const missing = tools.filter((t) => {
    const program = t === 'ipv6up' ? undefined : t;
    return (program !== undefined && !onPath(program)) || TOOLS[t].files.some((f) => !existsSync(f));
  });
  if (missing.length === 0) return undefined;
  return `lab needs ${missing.map((t) => `${t} (apt install ${TOOLS[t].pkg})`).join(', ')}`;
}
