/** What multiwan remembers about a link between events (/run/multiwan/link-NAME.json). */
export interface LinkState {
  link: string;
  /** The interface it is on now (pppd may give it another unit than the config names). */
  iface: string;
  up: boolean;
  local?: string;
  peer?: string;
  gateway?: string;
  /** ISO time of the last change of `up`. */
  since: string;
  /** The monitor's verdict: false takes an up link out of service (absent: healthy). */
  healthy?: boolean;
  /** Why it is out of service: "probes" (targets unanswered), "carrier". */
  healthReason?: string;
  /** ISO time of the last change of `healthy`. */
  healthSince?: string;
}

export type LinkStates = Readonly<Record<string, LinkState>>;

/** Stable numbers: link name -> id (table = table_base + id, mark = id << shift). */
export type LinkIds = Readonly<Record<string, number>>;
