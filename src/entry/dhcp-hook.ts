// /usr/lib/multiwan/dhcp-hook dhclient|dhcpcd: run by the fragments dhclient-script and
// dhcpcd-run-hooks source (env: reason, interface, new_*, old_*);
// `dhcp-hook manages IFACE`: exit 0 when a link of the config is on IFACE (dhclient's enter hook asks).
import { runDhcpHook } from './run-dhcp-hook.js';
import { runMain } from './run-main.js';

void runMain('dhcp-hook', () => runDhcpHook(process.argv.slice(2), process.env));
