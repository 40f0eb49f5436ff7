import type { Config, LinkConfig } from '../config/types.js';
import type { LinkEvent } from './types.js';

/**
 * The link an event is about: named outright (`multiwan link up isp2`), else by
 * interface, else by pppd's ipparam naming the link.
 */
export function matchLink(config: Config, event: Pick<LinkEvent, 'iface' | 'ipparam' | 'link'>): LinkConfig | undefined {
  if (event.link) return config.links.find((link) => link.name === event.link);
  return (
    config.links.find((link) => link.interface === event.iface) ??
    (event.ipparam ? config.links.find((link) => link.name === event.ipparam) : undefined)
  );
}
