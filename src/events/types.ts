/** What a caller (pppd, the admin, later dhclient/ifupdown/the monitor) reports about one link. */
export interface LinkEvent {
  action: 'up' | 'down';
  iface: string;
  /** Local address; absent on a manual `ip-up ppp1`: read from the live interface. */
  local?: string;
  /** Point-to-point peer address. */
  peer?: string;
  /** pppd's ipparam: matched against link names. */
  ipparam?: string;
}
