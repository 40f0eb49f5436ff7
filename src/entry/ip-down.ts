// pppd: /etc/ppp/ip-down.d/multiwan IFACE TTY SPEED LOCAL REMOTE IPPARAM; by hand: ip-down IFACE
import { runMain } from './run-main.js';
import { runPppHook } from './run-ppp-hook.js';

void runMain('ip-down', () => runPppHook('down', process.argv.slice(2), process.env));
