// pppd: /etc/ppp/ipv6-up.d/multiwan IFACE TTY SPEED LOCAL-LINKLOCAL REMOTE-LINKLOCAL IPPARAM; by hand: ipv6-up IFACE
import { runMain } from './run-main.js';
import { runPppHook } from './run-ppp-hook.js';

void runMain('ipv6-up', () => runPppHook('up', process.argv.slice(2), process.env, 6));
