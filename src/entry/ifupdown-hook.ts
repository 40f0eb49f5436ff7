// ifupdown: /etc/network/if-up.d/multiwan and /etc/network/if-post-down.d/multiwan (env IFACE, MODE, METHOD, ADDRFAM, IF_*)
import { parseIfupdownEvent } from '../events/parse-ifupdown-event.js';
import { runEventHook } from './run-event-hook.js';
import { runMain } from './run-main.js';

void runMain('ifupdown-hook', () => runEventHook(parseIfupdownEvent(process.env), process.env));
