/**
 * One line of iputils `ping -n -O` output (LC_ALL=C). Pure.
 *
 *   64 bytes from 100.64.1.1: icmp_seq=1 ttl=64 time=0.681 ms    reply
 *   no answer yet for icmp_seq=2                                  lost (-O: printed as the next probe leaves)
 *   From 100.64.1.1 icmp_seq=3 Destination Host Unreachable       lost (any ICMP error but a redirect)
 *
 * Everything else is `other`: the PING header, statistics, stderr messages,
 * duplicates (`(DUP!)`: the first copy was already counted), redirects (the
 * probe was forwarded all the same) and garbage. An optional `-D` timestamp
 * prefix (`[1700000000.123456] `) is accepted.
 */

export type PingLine = { kind: 'reply'; seq: number; rttMs: number } | { kind: 'lost'; seq: number } | { kind: 'other' };

const TIMESTAMP = /^\[\d+\.\d+\] /;
const REPLY = /^\d+ bytes from \S.*?: icmp_seq=(\d{1,5}) .*\btime=(\d{1,9}(?:\.\d{1,6})?) ms(?: |$)/;
const LOST = /^no answer yet for icmp_seq=(\d{1,5})$/;
const ERROR = /^From \S+(?: \([^()\s]*\))? icmp_seq=(\d{1,5}) (\S.*)$/;
const MAX_SEQ = 0xffff;

const OTHER: PingLine = { kind: 'other' };

export function parsePingLine(line: string): PingLine {
  const text = line.replace(/\r?\n$/, '').replace(TIMESTAMP, '');
  const reply = REPLY.exec(text);
  if (reply) {
    if (text.includes('(DUP!)')) return OTHER;
    const seq = seqOf(reply[1]);
    const rttMs = Number(reply[2]);
    return seq === undefined || !Number.isFinite(rttMs) ? OTHER : { kind: 'reply', seq, rttMs };
  }
  const lost = LOST.exec(text) ?? ERROR.exec(text);
  if (lost && !lost[2]?.startsWith('Redirect')) {
    const seq = seqOf(lost[1]);
    return seq === undefined ? OTHER : { kind: 'lost', seq };
  }
  return OTHER;
}

function seqOf(digits: string | undefined): number | undefined {
  const seq = Number(digits);
  return Number.isInteger(seq) && seq >= 0 && seq <= MAX_SEQ ? seq : undefined;
}
