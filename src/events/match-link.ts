import type { Config, LinkConfig } from '../config/types.js';
import type { LinkEvent } from './types.js';

/**
 * The link an event is about: named outright (`multiwan link up isp2`, whose
 * interface is then the configured one), else by interface, else by pppd's
 * ipparam naming the link.
 */
export function matchLink(config: Config, event: Pick<LinkEvent, 'iface' | 'ipparam' | 'link'>): LinkConfig | undefined {
  const named = event.link ? config.links.find((link) => link.name === event.link) : undefined;
  return (
    named ??
    config.links.find((link) => link.interface === event.iface) ??
    (event.ipparam ? config.links.find((link) => link.name === event.ipparam) : undefined)
  );
}

/** The event with its interface settled: a link named outright is on its configured interface. */
export function resolveEvent(config: Config, event: LinkEvent): LinkEvent {
  const named = event.link ? config.links.find((link) => link.name === event.link) : undefined;
  if (named) return { ...event, iface: named.interface };
  const { link: _name, ...rest } = event;
  return rest;
}
