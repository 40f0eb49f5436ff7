import { configPath, loadConfig } from '../config/load-config.js';
import { ConfigError } from '../errors.js';
import { parseDhclientEvent } from '../events/parse-dhclient-event.js';
import { parseDhcpcdEvent } from '../events/parse-dhcpcd-event.js';
import { stateDirOf } from '../state/state-store.js';
import { runEventHook } from './run-event-hook.js';

const usage = 'usage: dhcp-hook dhclient|dhcpcd (run by the fragments dhclient-script and dhcpcd-run-hooks source), or dhcp-hook manages IFACE';

export async function runDhcpHook(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [client, iface] = args;
  if (client === 'manages') {
    const config = await loadConfig(configPath(env), stateDirOf(env)).catch(() => undefined);
    return config?.links.some((link) => link.interface === iface) ? 0 : 1;
  }
  if (client === 'dhclient') return runEventHook(parseDhclientEvent(env), env);
  if (client === 'dhcpcd') return runEventHook(parseDhcpcdEvent(env), env);
  throw new ConfigError(usage);
}
