/** A validated config: every address and prefix is canonical text, every number checked. */
export interface LinkConfig {
  /** The key of [link.NAME]. */
  name: string;
  interface: string;
  weight: number;
  masquerade: boolean;
  /** This ISP's resolvers: reached through this link (`to` rules). */
  dns: string[];
  /** Destinations that always use this link while it is in service. */
  routes: string[];
  /** Pinned id (table = table_base + id, mark = id << shift of mark_mask). */
  id?: number;
}

export interface Config {
  /** Where it was read from, for messages. */
  file: string;
  lan: string[];
  markMask: number;
  tableBase: number;
  rulePriority: number;
  /** In file order. */
  links: LinkConfig[];
}
