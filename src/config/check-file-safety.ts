/**
 * Whether a file multiwan reads as root (the config, a routes_file, an @list)
 * or a directory on the way to it could have been written by someone else,
 * like sshd's StrictModes: whoever can write the config decides the routing.
 * Pure: the caller stats, this judges. Returns one line saying what is wrong
 * and the command that fixes it, or undefined when it is safe.
 */

export interface PathFacts {
  /** The path as the admin will recognise it (absolute for directories). */
  path: string;
  /** st_mode: type and permission bits. */
  mode: number;
  uid: number;
}

/**
 * `file` is the file to read itself; with `holding`, `facts` is a directory on
 * the way to that file. Accepted owners are root and `euid`, the user running
 * multiwan (so an unprivileged test suite can read its own temp files).
 */
export function checkFileSafety(facts: PathFacts, euid: number, holding?: string): string | undefined {
  const { path, mode, uid } = facts;
  const type = mode & S_IFMT;
  if (holding === undefined && type !== S_IFREG) {
    return `${path} is ${typeName(type)}, not a regular file; name a regular file instead`;
  }
  if (holding !== undefined && type !== S_IFDIR) {
    return `${path} is ${typeName(type)} on the way to ${holding}; name ${holding} by a path through directories`;
  }
  const why = holding === undefined ? '' : `, so they can replace ${holding}`;
  // A sticky directory (/tmp) lets only an entry's owner rename or remove it,
  // and the owner of what it holds is checked in its turn.
  const sticky = holding !== undefined && (mode & S_ISVTX) !== 0;
  if (mode & 0o022 && !sticky) {
    const who = mode & 0o002 ? 'others' : 'its group';
    return `${path} is writable by ${who} (mode ${(mode & 0o777).toString(8)})${why}; run chmod go-w ${path}`;
  }
  if (uid !== 0 && uid !== euid) {
    return `${path} is owned by uid ${uid}, not root${why}; run chown root: ${path}${holding === undefined ? '' : ` or move ${holding} to a directory root owns`}`;
  }
  return undefined;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_ISVTX = 0o001000;

function typeName(type: number): string {
  const names: Record<number, string> = {
    0o100000: 'a regular file',
    0o040000: 'a directory',
    0o120000: 'a symlink',
    0o020000: 'a character device',
    0o060000: 'a block device',
    0o010000: 'a FIFO',
    0o140000: 'a socket',
  };
  return names[type] ?? 'not a file';
}
