/**
 * Values from a hook's environment (DHCP clients, ifupdown), validated before
 * they go anywhere near a command line. A value that is present but wrong is
 * a ConfigError naming the variable.
 */
import { ConfigError } from '../errors.js';
import { interfaceNameRule, isInterfaceName, parseAddress, parsePrefix, type Family } from '../net/address.js';

type Env = Readonly<Record<string, string | undefined>>;

export function envInterface(env: Env, key: string, who: string): string {
  const iface = env[key];
  if (!iface) throw new ConfigError(`${who}: no ${key} in the environment; this hook is run by ${who}, not by hand (use multiwan link up|down)`);
  if (!isInterfaceName(iface)) throw new ConfigError(`${who}: ${key}=${JSON.stringify(iface)} is not an interface name: ${interfaceNameRule}`);
  return iface;
}

/** One address of a family (an IPv4 "a.b.c.d/len" loses its length); undefined when unset or empty. */
export function envAddress(env: Env, key: string, family: Family): string | undefined {
  const text = env[key]?.trim();
  if (!text) return undefined;
  const parsed = parseAddress(text.split('/')[0]!);
  if (!parsed || parsed.family !== family) throw new ConfigError(`${key}=${JSON.stringify(text)} is not an IPv${family} address`);
  return parsed.address;
}

/** A space-separated list of addresses of a family. */
export function envAddressList(env: Env, key: string, family: Family): string[] {
  return (env[key] ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((text) => envAddress({ [key]: text }, key, family)!);
}

/** A space-separated list of prefixes of a family, canonical ("2001:db8:1::/48"). */
export function envPrefixList(env: Env, key: string, family: Family): string[] {
  return (env[key] ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((text) => {
      const parsed = parsePrefix(text);
      if (typeof parsed === 'string' || parsed.family !== family || !text.includes('/')) {
        throw new ConfigError(`${key}=${JSON.stringify(env[key])}: ${typeof parsed === 'string' ? parsed : `"${text}" is not an IPv${family} prefix`}`);
      }
      return parsed.text;
    });
}
