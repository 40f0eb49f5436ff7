// pppd: /etc/ppp/ip-up.d/multiwan IFACE TTY SPEED LOCAL REMOTE IPPARAM; by hand: ip-up IFACE
import { runMain } from './run-main.js';
import { runPppHook } from './run-ppp-hook.js';

void runMain('ip-up', () => runPppHook('up', process.argv.slice(2), process.env));
