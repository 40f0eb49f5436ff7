// install.sh stages into DESTDIR exactly what the design lists, with names
// run-parts will run, and --uninstall / --purge take it all away again.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/parse-config.js';

let dest = '';
const run = (...args: string[]) =>
  execFileSync('./install.sh', args, { env: { ...process.env, DESTDIR: dest }, encoding: 'utf8' });
const files = () =>
  execFileSync('find', [dest, '-type', 'f'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((f) => f.slice(dest.length))
    .sort();

describe('install.sh with DESTDIR', () => {
  afterEach(() => rmSync(dest, { recursive: true, force: true }));

  it('installs the hooks (no dots in their names, mode 755), the command, the rt_protos entry and a commented example config', () => {
    dest = mkdtempSync(path.join(tmpdir(), 'mw-install-'));
    run();
    expect(files()).toEqual([
      '/etc/dhcp/dhclient-enter-hooks.d/multiwan',
      '/etc/dhcp/dhclient-exit-hooks.d/multiwan',
      '/etc/iproute2/rt_protos.d/multiwan.conf',
      '/etc/multiwan/multiwan.toml',
      '/etc/network/if-post-down.d/multiwan',
      '/etc/network/if-up.d/multiwan',
      '/etc/ppp/ip-down.d/multiwan',
      '/etc/ppp/ip-up.d/multiwan',
      '/etc/ppp/ipv6-down.d/multiwan',
      '/etc/ppp/ipv6-up.d/multiwan',
      '/lib/systemd/system/multiwan-monitor.service',
      '/usr/lib/dhcpcd/dhcpcd-hooks/62-multiwan',
      '/usr/lib/multiwan/dhcp-hook',
      '/usr/sbin/multiwan',
      '/usr/share/bash-completion/completions/multiwan',
      '/usr/share/doc/multiwan/README.md',
      '/usr/share/man/man5/multiwan.toml.5',
      '/usr/share/man/man8/multiwan.8',
    ]);
    const unit = readFileSync(path.join(dest, 'lib/systemd/system/multiwan-monitor.service'), 'utf8');
    expect(unit).toContain('ExecStart=/usr/sbin/multiwan monitor');
    expect(unit).toContain('ExecReload=/bin/kill -HUP $MAINPID');
    // Started before any link is up, restarted for ever, /run/multiwan made for it and kept for the hooks.
    for (const line of ['Restart=always', 'StartLimitIntervalSec=0', 'RuntimeDirectory=multiwan', 'RuntimeDirectoryPreserve=yes']) expect(unit).toContain(line);
    const executables = ['/etc/ppp/ip-up.d/multiwan', '/etc/ppp/ip-down.d/multiwan', '/etc/ppp/ipv6-up.d/multiwan', '/etc/ppp/ipv6-down.d/multiwan',
      '/usr/lib/multiwan/dhcp-hook', '/etc/network/if-up.d/multiwan', '/etc/network/if-post-down.d/multiwan', '/usr/sbin/multiwan'];
    for (const hook of executables) {
      expect(statSync(dest + hook).mode & 0o777).toBe(0o755);
      expect(readFileSync(dest + hook, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    }
    // The sourced fragments are read, not run, and call the hook by its absolute path.
    for (const fragment of ['/etc/dhcp/dhclient-enter-hooks.d/multiwan', '/etc/dhcp/dhclient-exit-hooks.d/multiwan', '/usr/lib/dhcpcd/dhcpcd-hooks/62-multiwan']) {
      expect(statSync(dest + fragment).mode & 0o777).toBe(0o644);
      expect(readFileSync(dest + fragment, 'utf8')).toContain('/usr/lib/multiwan/dhcp-hook');
    }
    // run-parts' default name filter: ^[a-zA-Z0-9_-]+$ (ifupdown and dhclient-script use it too)
    for (const dir of ['etc/ppp/ip-up.d', 'etc/ppp/ipv6-up.d', 'etc/network/if-up.d', 'etc/network/if-post-down.d']) {
      expect(execFileSync('run-parts', ['--test', path.join(dest, dir)], { encoding: 'utf8' }).trim()).toBe(path.join(dest, dir, 'multiwan'));
    }
    expect(execFileSync('run-parts', ['--list', path.join(dest, 'etc/dhcp/dhclient-exit-hooks.d')], { encoding: 'utf8' }).trim()).toBe(
      path.join(dest, 'etc/dhcp/dhclient-exit-hooks.d/multiwan'),
    );
    expect(readFileSync(path.join(dest, 'etc/iproute2/rt_protos.d/multiwan.conf'), 'utf8')).toMatch(/^242\tmultiwan$/m);
    const example = readFileSync(path.join(dest, 'etc/multiwan/multiwan.toml'), 'utf8');
    expect(parseConfig(example, 'example').links).toEqual([]);
    // With the settings uncommented (prose lines start with ##), it is a valid two-link config.
    const uncommented = example.replace(/^# (?!#)/gm, '');
    expect(parseConfig(uncommented, 'example').links.map((l) => l.name)).toEqual(['isp1', 'isp2']);
  });

  it('keeps an existing config, and --uninstall keeps an edited one while --purge removes it', () => {
    dest = mkdtempSync(path.join(tmpdir(), 'mw-install-'));
    run();
    writeFileSync(path.join(dest, 'etc/multiwan/multiwan.toml'), '[link.a]\ninterface = "ppp0"\n');
    expect(run()).toContain('kept');
    run('--uninstall');
    expect(files()).toEqual(['/etc/multiwan/multiwan.toml']);
    run('--purge');
    expect(files()).toEqual([]);
  });

  it('--uninstall of an untouched install leaves nothing', () => {
    dest = mkdtempSync(path.join(tmpdir(), 'mw-install-'));
    run();
    run('--uninstall');
    expect(files()).toEqual([]);
  });
});
