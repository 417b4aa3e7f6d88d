import { describe, expect, it } from 'vitest';
import { describeLibvirtTarget, parseLibvirtUri } from '../../appliance/src/domain/libvirt-uri.ts';

const place = { keysDir: '/var/lib/bivouac/keys' };
const refusalOf = (uri: string) => {
  const verdict = parseLibvirtUri(uri, place);
  return verdict.ok ? null : verdict.refusal;
};

describe('the libvirt URI rule (domain/libvirt-uri.ts)', () => {
  it('H2: parses a URI into transport, user, host, port, path and the parameters that passed', () => {
    expect(
      parseLibvirtUri(
        'qemu+ssh://root@10.0.0.2/system?keyfile=/var/lib/bivouac/keys/rack2&no_tty=1',
        place,
      ),
    ).toEqual({
      ok: true,
      target: {
        driver: 'qemu',
        transport: 'ssh',
        user: 'root',
        host: '10.0.0.2',
        port: 22,
        path: '/system',
        parameters: { keyfile: '/var/lib/bivouac/keys/rack2', no_tty: '1' },
      },
    });
    const tls = parseLibvirtUri('qemu+tls://rack-2.lan:16600/session', place);
    expect(tls.ok && tls.target).toMatchObject({
      transport: 'tls',
      user: null,
      host: 'rack-2.lan',
      port: 16600,
      path: '/session',
    });
    const local = parseLibvirtUri('qemu:///system', place);
    expect(local.ok && local.target).toMatchObject({ transport: 'local', host: null, port: null });
    const daemon = parseLibvirtUri(
      'test+unix:///default?socket=/tmp/bivouac-libvirtd-x/run/libvirt-sock',
      place,
    );
    expect(daemon.ok && daemon.target.parameters).toEqual({
      socket: '/tmp/bivouac-libvirtd-x/run/libvirt-sock',
    });
    expect(parseLibvirtUri('qemu+tcp://[fd00::2]/system', place)).toMatchObject({
      ok: true,
      target: { host: '[fd00::2]', port: 16509 },
    });
  });

  it('H2: says who and where it connects as', () => {
    const verdict = parseLibvirtUri('qemu+ssh://root@10.0.0.2/system', place);
    expect(verdict.ok && describeLibvirtTarget(verdict.target)).toBe(
      'connects over ssh as root to 10.0.0.2, port 22',
    );
    const local = parseLibvirtUri('qemu:///system', place);
    expect(local.ok && describeLibvirtTarget(local.target)).toBe(
      "connects to this box's own libvirt daemon (system)",
    );
  });

  it('H2: refuses command=, however its name is written, naming it and listing what is allowed', () => {
    for (const uri of [
      'qemu+ssh://x/system?command=/bin/sh',
      'qemu+ssh://x/system?Command=/bin/sh',
      'qemu+ssh://x/system?COMMAND=/bin/sh',
      'qemu+ssh://x/system?%63ommand=/bin/sh',
      'qemu+ssh://x/system?%43OMMAND=/bin/sh',
      'qemu+ssh://x/system?command=/bin/sh&keyfile=/tmp/poc.sh',
      'qemu+ssh://x/system?keyfile=/var/lib/bivouac/keys/a&command=/bin/sh',
    ]) {
      const refusal = refusalOf(uri);
      expect(refusal, uri).toMatchObject({ part: 'parameter' });
      expect(refusal!.parameter === 'command' || refusal!.parameter === 'keyfile', uri).toBe(true);
      expect(refusal!.message, uri).toMatch(
        /keyfile and known_hosts \(files in \/var\/lib\/bivouac\/keys\/\), no_tty/,
      );
    }
    expect(refusalOf('qemu+ssh://x/system?%63ommand=/bin/sh')).toMatchObject({
      parameter: 'command',
      message: expect.stringMatching(
        /^names the parameter command, which the box never passes to libvirt/,
      ),
    });
  });

  it('H2: refuses netcat=, no_verify=, proxy=, mode= and unknown parameters', () => {
    for (const [query, parameter] of [
      ['netcat=/tmp/nc', 'netcat'],
      ['no_verify=1', 'no_verify'],
      ['proxy=auto', 'proxy'],
      ['mode=legacy', 'mode'],
      ['pkipath=/etc', 'pkipath'],
      ['name=qemu', 'name'],
      ['whatever=1', 'whatever'],
    ] as const) {
      const refusal = refusalOf(`qemu+ssh://root@h/system?${query}`);
      expect(refusal, query).toMatchObject({ part: 'parameter', parameter });
      expect(refusal!.message, query).toContain(parameter);
    }
  });

  it('H2: refuses a parameter named twice in any case (libvirt takes the last)', () => {
    expect(
      refusalOf('qemu+ssh://h/system?keyfile=/var/lib/bivouac/keys/ok&KEYFILE=/x'),
    ).toMatchObject({ parameter: 'keyfile', message: expect.stringMatching(/twice/) });
    expect(refusalOf('qemu+ssh://h/system?no_tty=1&No_Tty=1')).toMatchObject({
      parameter: 'no_tty',
    });
  });

  it('H2: refuses socket= except a unix transport to one of libvirt own sockets', () => {
    expect(refusalOf('qemu+ssh://h/system?socket=/run/libvirt/libvirt-sock')).toMatchObject({
      parameter: 'socket',
    });
    expect(refusalOf('qemu+tcp://h/system?socket=/run/libvirt/libvirt-sock')).toMatchObject({
      parameter: 'socket',
    });
    expect(refusalOf('qemu+unix:///system?socket=/var/run/docker.sock')).toMatchObject({
      parameter: 'socket',
    });
    expect(refusalOf('qemu+unix:///system?socket=')).toMatchObject({ parameter: 'socket' });
    expect(refusalOf('qemu+unix:///system?socket=/run/x/../libvirt/libvirt-sock')).toMatchObject({
      parameter: 'socket',
    });
    expect(refusalOf('qemu+unix:///system?socket=/run/libvirt/libvirt-sock')).toBeNull();
  });

  it('H2: allows keyfile and known_hosts only inside the keys folder, with no way out', () => {
    expect(
      refusalOf(
        'qemu+ssh://h/system?keyfile=/var/lib/bivouac/keys/id_ed25519&known_hosts=/var/lib/bivouac/keys/known_hosts',
      ),
    ).toBeNull();
    for (const path of [
      '/tmp/poc.sh',
      '/var/lib/bivouac/.ssh/id_ed25519',
      '/var/lib/bivouac/keys/../.ssh/id_ed25519',
      '/var/lib/bivouac/keys/%2E%2E/tls/key.pem',
      '/var/lib/bivouac/keys/./x',
      '/var/lib/bivouac/keys//x',
      '/var/lib/bivouac/keys',
      '/var/lib/bivouac/keys/',
      '/var/lib/bivouac/keysx/id',
      'keys/id',
    ]) {
      expect(refusalOf(`qemu+ssh://h/system?keyfile=${path}`), path).toMatchObject({
        part: 'parameter',
        parameter: 'keyfile',
      });
      expect(refusalOf(`qemu+ssh://h/system?known_hosts=${path}`), path).toMatchObject({
        part: 'parameter',
        parameter: 'known_hosts',
      });
    }
    expect(refusalOf('qemu+ssh://h/system?keyfile=/tmp/poc.sh')!.message).toMatch(
      /outside the keys folder \/var\/lib\/bivouac\/keys\//,
    );
    // Without a keys folder there is no key to name.
    expect(
      parseLibvirtUri('qemu+ssh://h/system?keyfile=/var/lib/bivouac/keys/id', { keysDir: null }).ok,
    ).toBe(false);
    // Only the ssh transport reads a key file.
    expect(refusalOf('qemu+tcp://h/system?keyfile=/var/lib/bivouac/keys/id')).toMatchObject({
      parameter: 'keyfile',
    });
  });

  it('H2: refuses what decodes into odd characters, broken escapes and a password', () => {
    expect(refusalOf('qemu+ssh://h/system?keyfile=/var/lib/bivouac/keys/a%20b')).toMatchObject({
      part: 'parameter',
    });
    expect(refusalOf('qemu+ssh://h/system?keyfile=/var/lib/bivouac/keys/a%00')).toMatchObject({
      part: 'parameter',
    });
    expect(refusalOf('qemu+ssh://h/system?keyfile=/var/lib/bivouac/keys/a+b')).toMatchObject({
      part: 'parameter',
    });
    expect(refusalOf('qemu+ssh://h/system?%6=1')).toMatchObject({ part: 'parameter' });
    // The Kelvin sign lower-cases to "k" in JavaScript but not in libvirt: refused, not taken for keyfile.
    expect(refusalOf('qemu+ssh://h/system?%E2%84%AAeyfile=/var/lib/bivouac/keys/a')).toMatchObject({
      part: 'parameter',
      parameter: null,
    });
    expect(refusalOf('qemu+ssh://h/system?no_tty')).toMatchObject({ part: 'parameter' });
    expect(refusalOf('qemu+ssh://h/system?no_tty=1;command=/bin/sh')).toMatchObject({
      part: 'characters',
    });
    expect(refusalOf('qemu+ssh://h/system?no_tty=1#x')).toMatchObject({ part: 'characters' });
    expect(refusalOf('qemu+ssh://root:secret@h/system')).toMatchObject({
      part: 'user',
      message: expect.stringMatching(/password/),
    });
    expect(refusalOf('qemu+ssh://r%6Fot@h/system')).toMatchObject({ part: 'user' });
    expect(refusalOf('qemu+ssh://-oProxyCommand=x/system')).toMatchObject({ part: 'host' });
    expect(refusalOf('qemu+ssh://-l@h/system')).toMatchObject({ part: 'user' });
  });

  it('H2: refuses other transports, paths and hosts where none may be', () => {
    expect(refusalOf('qemu+ext:///system?command=/bin/sh')).toMatchObject({ part: 'transport' });
    expect(refusalOf('qemu+libssh2://h/system')).toMatchObject({ part: 'transport' });
    expect(refusalOf('qemu+ssh:///system')).toMatchObject({ part: 'host' });
    expect(refusalOf('qemu+unix://h/system')).toMatchObject({ part: 'host' });
    expect(refusalOf('qemu+ssh://h:0/system')).toMatchObject({ part: 'port' });
    expect(refusalOf('qemu+ssh://h:70000/system')).toMatchObject({ part: 'port' });
    expect(refusalOf('qemu+ssh://h/default')).toMatchObject({ part: 'path' });
    expect(refusalOf('test:///system')).toMatchObject({ part: 'path' });
  });
});
