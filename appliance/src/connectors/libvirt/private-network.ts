import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { create } from 'xmlbuilder';
import { BivouacError } from '../../errors.ts';

const run = promisify(execFile);

/** A run's own libvirt network: a bridge, its gateway address, DHCP and DNS from libvirt's dnsmasq. */
export interface NetworkPlan {
  /** Network and bridge name (at most 15 characters, an interface name's limit). */
  name: string;
  /** `10.201.17`: the gateway is `.1`, addresses are leased only to known hosts. */
  prefix: string;
}

/** One instance's fixed entry: its MAC gets its address; its names resolve inside the run. */
export interface NetworkHost {
  mac: string;
  ip: string;
  names: string[];
}

const dnsmasqNamespace = 'http://libvirt.org/schemas/network/dnsmasq/1.0';

/** Names of the networks Bivouac makes per run. */
export const runNetworkPattern = /^bvn-[0-9a-f]{11}$/;

/**
 * The network's XML, built with an XML library. `<forward mode='open'/>`: libvirt adds no
 * firewall rules and no NAT of its own, so the appliance's nftables table is the only rule on
 * what the bridge may reach (libvirt's isolated mode would reject the DNAT that publishes
 * ports); the guests get the gateway as their router only so that the answers of published
 * ports find their way back. DHCP leases only to the hosts named before launch.
 */
export function buildNetworkXml(plan: NetworkPlan, hosts: readonly NetworkHost[] = []): string {
  const network = create('network', { headless: true }).att('xmlns:dnsmasq', dnsmasqNamespace);
  network.ele('name').txt(plan.name);
  network.ele('forward', { mode: 'open' });
  network.ele('bridge', { name: plan.name, stp: 'off', delay: '0' });
  network.ele('domain', { name: 'run', localOnly: 'yes' });
  const dns = network.ele('dns', { enable: 'yes' });
  for (const host of hosts) {
    const entry = dns.ele('host', { ip: host.ip });
    for (const name of host.names) entry.ele('hostname').txt(name);
  }
  const ip = network.ele('ip', { address: `${plan.prefix}.1`, prefix: '24' });
  const dhcp = ip.ele('dhcp');
  for (const host of hosts)
    dhcp.ele('host', { mac: host.mac, name: host.names.at(-1)!, ip: host.ip });
  // No upstream resolver: names outside the run do not resolve (no lookups leave the box for a guest).
  network.ele('dnsmasq:options').ele('dnsmasq:option', { value: 'no-resolv' });
  return network.end();
}

async function virsh(uri: string, args: string[], what: string): Promise<string> {
  try {
    const { stdout } = await run('virsh', ['-q', '-c', uri, ...args], { timeout: 20_000 });
    return stdout;
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message?: string };
    throw new BivouacError(
      'NETWORK_FAILED',
      `Cannot ${what}: ${(stderr || message || '').trim()}`,
      { reason: (stderr || message || '').trim() },
    );
  }
}

/**
 * Starts the network (transient: it lives until removed or the daemon restarts). True when made
 * now, false when it already ran. A subnet another network or interface holds is refused by
 * libvirt; the caller tries another.
 */
export async function createNetwork(
  uri: string,
  plan: NetworkPlan,
  hosts: readonly NetworkHost[],
): Promise<boolean> {
  try {
    await createFromXml(uri, buildNetworkXml(plan, hosts), plan.name);
    return true;
  } catch (error) {
    if (/already exists/i.test(String((error as BivouacError).details?.reason))) return false;
    throw error;
  }
}

async function createFromXml(uri: string, xml: string, name: string): Promise<void> {
  // virsh reads the XML from a file: a private temporary one (a pipe is a socket here, which it cannot open).
  const folder = await mkdtemp(join(tmpdir(), 'bivouac-net-'));
  try {
    await writeFile(join(folder, 'network.xml'), xml, { mode: 0o600 });
    await virsh(uri, ['net-create', join(folder, 'network.xml')], `create network ${name}`);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/** Adds an instance's DHCP host and DNS entries to a running network, before its VM starts. */
export async function addNetworkHost(uri: string, name: string, host: NetworkHost): Promise<void> {
  const dhcp = create('host', { headless: true })
    .att({ mac: host.mac, name: host.names.at(-1)!, ip: host.ip })
    .end();
  const dnsHost = create('host', { headless: true }).att('ip', host.ip);
  for (const hostname of host.names) dnsHost.ele('hostname').txt(hostname);
  const dns = dnsHost.end();
  for (const [section, xml] of [
    ['ip-dhcp-host', dhcp],
    ['dns-host', dns],
  ] as const) {
    await virsh(
      uri,
      ['net-update', name, 'add-last', section, xml, '--live'],
      `add ${host.names.join('/')} to network ${name}`,
    ).catch((error: BivouacError) => {
      if (!/existing|already/i.test(String(error.details.reason))) throw error; // a retried launch
    });
  }
}

/** Stops (and so removes) the network; a network already gone is not an error. */
export async function removeNetwork(uri: string, name: string): Promise<void> {
  if (!runNetworkPattern.test(name)) return;
  await virsh(uri, ['net-destroy', name], `remove network ${name}`).catch((error: BivouacError) => {
    if (!/not found|no network|not active/i.test(String(error.details.reason))) throw error;
  });
}

/** The run networks the daemon has (by their name pattern). */
export async function listNetworks(uri: string): Promise<string[]> {
  const out = await virsh(uri, ['net-list', '--all', '--name'], 'list networks');
  return out
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => runNetworkPattern.test(line));
}
