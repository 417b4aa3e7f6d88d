/**
 * Which libvirt URIs a libvirt cloud may name, parsed rather than matched: libvirt's remote driver
 * reads query parameters that run programs on the box (`command=`, `netcat=`), use any key the
 * appliance can read (`keyfile=`) or turn host-key checks off (`no_verify=`), so a URI is taken
 * apart into transport, user, host, port, path and an allow-list of parameters, and anything
 * else is refused with what is allowed. Pure, so the connector, the config file's check, the
 * start-up check of stored clouds and the add-a-cloud form apply the same rule.
 */

/** How libvirt reaches the daemon: `local` is the box's own daemon without a named transport. */
export type LibvirtTransport = 'local' | 'unix' | 'ssh' | 'tcp' | 'tls';

/** Where a URI connects to, as the add-a-cloud form and administrators see it. */
export interface LibvirtTarget {
  driver: 'qemu' | 'test';
  transport: LibvirtTransport;
  /** The remote login (ssh) or SASL user; null: the transport's default. */
  user: string | null;
  /** Null on the box itself. */
  host: string | null;
  /** The port named or the transport's default; null on the box itself. */
  port: number | null;
  path: string;
  /** The parameters that passed, names in lower case, values decoded. */
  parameters: Partial<Record<AllowedParameter, string>>;
}

/** What the rule needs to know of the box. */
export interface LibvirtUriPlace {
  /**
   * The folder `keyfile` and `known_hosts` must name files in (the data dir's `keys/`); null
   * where there is none, and then neither parameter is allowed.
   */
  keysDir: string | null;
}

/** Why a URI is refused: the part that broke the rule and, for a parameter, its name. */
export interface LibvirtUriRefusal {
  part: 'characters' | 'form' | 'transport' | 'user' | 'host' | 'port' | 'path' | 'parameter';
  /** The parameter's name, decoded and in lower case, when `part` is `parameter`. */
  parameter: string | null;
  /** Worded to follow "It …" or a field name, e.g. "names the parameter command, …". */
  message: string;
}

export type LibvirtUriVerdict =
  { ok: true; target: LibvirtTarget } | { ok: false; refusal: LibvirtUriRefusal };

export const allowedParameters = ['keyfile', 'known_hosts', 'no_tty', 'socket'] as const;
export type AllowedParameter = (typeof allowedParameters)[number];

/** Parameters libvirt knows that are refused on purpose, with why. */
const refusedParameters: Record<string, string> = {
  command: 'it names a program libvirt runs on the box',
  netcat: 'it names a program libvirt runs on the remote host',
  proxy: 'it picks a program libvirt runs to reach the daemon',
  mode: 'it picks which daemon and program libvirt starts',
  no_verify: 'it turns off the check of the remote host or its certificate',
  known_hosts_verify: 'it can turn off the check of the remote host',
  sshauth: 'it picks how libvirt authenticates over ssh',
  pkipath: 'it names certificates and keys outside the keys folder',
  name: 'it renames the remote driver libvirt asks for',
  tls_priority: 'it weakens the TLS ciphers',
  auth: 'it picks how libvirt authenticates',
};

/** libvirt's own daemon sockets, the only ones `socket=` may name (in any folder). */
const libvirtSockets = [
  'libvirt-sock',
  'libvirt-sock-ro',
  'virtqemud-sock',
  'virtqemud-sock-ro',
  'virtproxyd-sock',
  'virtproxyd-sock-ro',
];

const defaultPorts: Record<'ssh' | 'tcp' | 'tls', number> = { ssh: 22, tcp: 16509, tls: 16514 };

const uriCharacters = /^[A-Za-z0-9:/@.%&=_+?\-[\]]*$/;
const userPattern = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;
const hostPattern = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9._-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])$/;
const valueCharacters = /^[A-Za-z0-9._/-]*$/;

/** What is allowed, worded to follow "It …" or a field name. */
export function libvirtUriRule(place: LibvirtUriPlace): string {
  return `must be a libvirt URI: qemu:///system, qemu:///session, qemu+ssh|tcp|tls|unix://[user@]host[:port]/system or test:///default; ${parameterRule(place)}`;
}

/** The allowed parameters, for messages. */
function parameterRule(place: LibvirtUriPlace): string {
  const keys =
    place.keysDir === null
      ? 'keyfile and known_hosts (not on this box: it has no keys folder)'
      : `keyfile and known_hosts (files in ${withSlash(place.keysDir)})`;
  return `the parameters allowed are ${keys}, no_tty (0 or 1) and socket (unix transport only: one of libvirt's own sockets, ${libvirtSockets.join(', ')})`;
}

/**
 * Parses `uri` into where it connects, or says why the box will not pass it to libvirt.
 * Parameter names are percent-decoded and compared case-insensitively (as libvirt does), and a
 * name given twice is refused (libvirt would take the last).
 */
export function parseLibvirtUri(uri: string, place: LibvirtUriPlace): LibvirtUriVerdict {
  const refuse = (
    part: LibvirtUriRefusal['part'],
    message: string,
    parameter: string | null = null,
  ): LibvirtUriVerdict => ({
    ok: false,
    refusal: { part, parameter, message },
  });
  if (uri.length > 1024) return refuse('form', 'must be at most 1024 characters');
  if (!uriCharacters.test(uri)) {
    const odd = [...uri].find((character) => !uriCharacters.test(character)) ?? '';
    return refuse(
      'characters',
      `has a character a libvirt URI of the box may not have (${JSON.stringify(odd)}); ${libvirtUriRule(place)}`,
    );
  }
  const match = /^(qemu|test)(?:\+([a-z0-9]+))?:\/\/([^/?]*)(\/[^?]*)(?:\?(.*))?$/.exec(uri);
  if (!match) return refuse('form', libvirtUriRule(place));
  const [, driverText, transportText, authority = '', path = '', query] = match;
  const driver = driverText as 'qemu' | 'test';

  const named = transportText ?? null;
  if (named !== null && !['unix', 'ssh', 'tcp', 'tls'].includes(named)) {
    return refuse(
      'transport',
      `names the transport ${named}; the transports allowed are ssh, tcp, tls and unix (or none, for the box's own daemon)`,
    );
  }

  const authorityMatch = /^(?:([^@]*)@)?([^@]*?)(?::([^:\]]*))?$/.exec(authority);
  if (!authorityMatch) return refuse('host', 'must name at most one user@host:port');
  const [, userText, hostText = '', portText] = authorityMatch;
  if (userText !== undefined) {
    if (userText.includes(':'))
      return refuse(
        'user',
        'must not carry a password (user:password@); use a key file in the keys folder',
      );
    if (!userPattern.test(userText))
      return refuse('user', 'must name the user with letters, digits, ".", "_" or "-" (not first)');
  }
  if (hostText !== '' && !hostPattern.test(hostText))
    return refuse(
      'host',
      'must name the host by a name or address: letters, digits, ".", "_" or "-" (not first), or [IPv6]',
    );
  if (hostText === '' && (userText !== undefined || portText !== undefined))
    return refuse('host', 'names a user or port but no host');
  let port: number | null = null;
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
    if (!(port >= 1 && port <= 65535)) return refuse('port', 'must name a port from 1 to 65535');
  }

  const host = hostText === '' ? null : hostText;
  let transport: LibvirtTransport;
  if (named === null) transport = host === null ? 'local' : 'tls';
  else transport = named as LibvirtTransport;
  if (host === null && (transport === 'ssh' || transport === 'tcp' || transport === 'tls'))
    return refuse('host', `must name the host to reach over ${transport}`);
  if (host !== null && transport === 'unix')
    return refuse(
      'host',
      "must name no host with the unix transport: it reaches the box's own daemon",
    );

  const paths = driver === 'qemu' ? ['/system', '/session'] : ['/default'];
  if (!paths.includes(path))
    return refuse('path', `must end in ${paths.join(' or ')} for the ${driver} driver`);

  const parameters: Partial<Record<AllowedParameter, string>> = {};
  if (query !== undefined && query !== '') {
    for (const piece of query.split('&')) {
      const equals = piece.indexOf('=');
      if (equals <= 0)
        return refuse(
          'parameter',
          `has a parameter without name=value (${JSON.stringify(piece)}); ${parameterRule(place)}`,
        );
      // libvirt compares names ignoring ASCII case only, so anything else in a name is refused.
      const decodedName = decode(piece.slice(0, equals));
      const name =
        decodedName !== undefined && /^[A-Za-z_]{1,32}$/.test(decodedName)
          ? decodedName.toLowerCase()
          : undefined;
      const value = decode(piece.slice(equals + 1));
      if (name === undefined || value === undefined || !valueCharacters.test(value)) {
        return refuse(
          'parameter',
          `has a parameter that decodes into characters that are not allowed (${JSON.stringify(piece)}): names are letters and "_", values letters, digits, ".", "_", "-" and "/"`,
          name ?? null,
        );
      }
      if (Object.hasOwn(parameters, name))
        return refuse(
          'parameter',
          `names the parameter ${name} twice (names count case-insensitively); name it once`,
          name,
        );
      const why = refusedParameters[name];
      if (why)
        return refuse(
          'parameter',
          `names the parameter ${name}, which the box never passes to libvirt (${why}); ${parameterRule(place)}`,
          name,
        );
      if (!(allowedParameters as readonly string[]).includes(name))
        return refuse(
          'parameter',
          `names the parameter ${name}, which the box does not know; ${parameterRule(place)}`,
          name,
        );
      const problem = parameterProblem(name as AllowedParameter, value, transport, place);
      if (problem)
        return refuse(
          'parameter',
          `has ${name}=${value}, which ${problem}; ${parameterRule(place)}`,
          name,
        );
      parameters[name as AllowedParameter] = value;
    }
  }

  const defaultPort =
    transport === 'ssh' || transport === 'tcp' || transport === 'tls'
      ? defaultPorts[transport]
      : null;
  return {
    ok: true,
    target: {
      driver,
      transport,
      user: userText ?? null,
      host,
      port: host === null ? null : (port ?? defaultPort),
      path,
      parameters,
    },
  };
}

/**
 * Who and where a target connects as, for people: "connects over ssh as root to 10.0.0.2, port 22".
 */
export function describeLibvirtTarget(target: LibvirtTarget): string {
  if (target.host === null)
    return `connects to this box's own ${target.driver === 'test' ? 'test driver' : 'libvirt daemon'} (${target.path.slice(1)})`;
  const as = target.user
    ? ` as ${target.user}`
    : target.transport === 'ssh'
      ? " as the appliance's own user"
      : '';
  const key = target.parameters.keyfile ? ` with the key ${target.parameters.keyfile}` : '';
  return `connects over ${target.transport}${as} to ${target.host}, port ${target.port}${key}`;
}

/** Is the parameter's value allowed? Null when it is, else why not (follows "which"). */
function parameterProblem(
  name: AllowedParameter,
  value: string,
  transport: LibvirtTransport,
  place: LibvirtUriPlace,
): string | null {
  if (name === 'no_tty') return value === '0' || value === '1' ? null : 'must be 0 or 1';
  const path = pathProblem(value);
  if (name === 'socket') {
    if (transport !== 'unix' && transport !== 'local') return 'only a unix transport may name';
    if (path) return path;
    const file = value.slice(value.lastIndexOf('/') + 1);
    return libvirtSockets.includes(file) ? null : "is not one of libvirt's own sockets";
  }
  if (transport !== 'ssh') return 'only the ssh transport reads';
  if (place.keysDir === null) return 'needs a keys folder this box does not have';
  if (path) return path;
  return value.startsWith(withSlash(place.keysDir)) &&
    value.length > withSlash(place.keysDir).length
    ? null
    : `is outside the keys folder ${withSlash(place.keysDir)}`;
}

/** A path parameter must be absolute and plain: no `.` or `..` step (a link inside could lead out), no empty step. */
function pathProblem(value: string): string | null {
  if (!value.startsWith('/')) return 'must be an absolute path';
  const steps = value.slice(1).split('/');
  if (steps.some((step) => step === '..' || step === '.' || step === ''))
    return 'must be a plain path, without ".", ".." or "//"';
  return null;
}

function withSlash(folder: string): string {
  return folder.endsWith('/') ? folder : `${folder}/`;
}

/** Percent-decodes as libvirt does (`+` is a space); undefined for a broken escape. */
function decode(text: string): string | undefined {
  if (/%(?![0-9A-Fa-f]{2})/.test(text)) return undefined;
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}
