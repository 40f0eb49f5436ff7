// pppd: /etc/ppp/ipv6-down.d/multiwan IFACE TTY SPEED LOCAL-LINKLOCAL REMOTE-LINKLOCAL IPPARAM; by hand: ipv6-down IFACE
import { runMain } from './run-main.js';
import { runPppHook } from './run-ppp-hook.js';

void runMain('ipv6-down', () => runPppHook('down', process.argv.slice(2), process.env, 6));
