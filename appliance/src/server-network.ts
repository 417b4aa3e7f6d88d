import { access } from 'node:fs/promises';
import { hostname, networkInterfaces } from 'node:os';
import type { AgentServers } from './api/agent-listeners.ts';
import type { HostPolicy } from './api/host-check.ts';
import { isLoopback, parseHostPort, type Config } from './config.ts';
import { canFirewall } from './host/firewall.ts';
import { RunNetworks } from './orchestrator/run-networks.ts';

/*
 * Where the box is reached, read from the config and the host's interfaces (server.ts starts the
 * appliance with them): the guests' agent URL, the service host, the names the box answers to,
 * and whether runs get private networks.
 */

/**
 * Where guests reach the appliance: with user-mode networking the host's loopback is 10.0.2.2
 * inside the guest, so the loopback HTTP listener serves them.
 */
export function agentUrlOf(config: Config): string {
  const listen = config.localListen !== 'off' ? config.localListen : config.listen;
  const { port } = parseHostPort(listen);
  const https =
    config.localListen === 'off' &&
    (config.tls === 'always' || !isLoopback(parseHostPort(config.listen).host));
  return `${https ? 'https' : 'http'}://10.0.2.2:${port}`;
}

/**
 * The host in service URLs, which the UI is never served under (cookies have no port scope):
 * configured, else the listen address when it is a LAN address, else the first LAN IPv4 address,
 * else (no network) a loopback address the box's screen does not use.
 */
export function publicHostOf(config: Config): string {
  if (config.publicHost) return config.publicHost;
  const { host } = parseHostPort(config.listen);
  if (host !== '0.0.0.0' && host !== '::' && !isLoopback(host)) return host;
  return firstLanAddress() ?? '127.0.0.2';
}

/** The box's IPv4 address on its LAN, where published ports are DNAT from. */
function lanAddressOf(publicHost: string): string | null {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(publicHost) && !publicHost.startsWith('127.')) return publicHost;
  return firstLanAddress();
}

/** The first IPv4 address of a LAN interface (not loopback, not a run network's bridge). */
function firstLanAddress(): string | null {
  const lan = Object.entries(networkInterfaces())
    .filter(([name]) => !name.startsWith('bvn-') && !name.startsWith('virbr'))
    .flatMap(([, addresses]) => addresses ?? [])
    .find((address) => address.family === 'IPv4' && !address.internal);
  return lan?.address ?? null;
}

/**
 * Private networks per run where the box allows them: its own hypervisor on this machine
 * (`qemu:///system`), run as root with nftables and dnsmasq at hand; else null (user networking,
 * whose guests reach the appliance through an agent-only listener on loopback).
 */
export async function privateNetworksOf(
  uri: string,
  publicHost: string,
  listeners: AgentServers,
): Promise<RunNetworks | null> {
  const publicAddress = lanAddressOf(publicHost);
  if (
    uri !== 'qemu:///system' ||
    process.getuid?.() !== 0 ||
    !publicAddress ||
    !(await canFirewall())
  )
    return null;
  if (
    !(await access('/usr/sbin/dnsmasq').then(
      () => true,
      () => false,
    ))
  )
    return null;
  return new RunNetworks({ uri, publicAddress, listeners });
}

/**
 * The names the box answers to: its listen addresses, the configured names, the guests' way in,
 * and (added by the host check) the host's own name, `localhost` and its interfaces' addresses.
 * The UI's link for a browser that came under the service host uses the first configured name,
 * else the host's name.
 */
export function hostPolicyOf(
  config: Config,
  serviceHost: string,
  agentUrl: string,
  mainIsHttps: boolean,
): HostPolicy {
  const listenHosts = [config.listen, ...(config.localListen === 'off' ? [] : [config.localListen])]
    .map((address) => parseHostPort(address).host)
    .filter((host) => host !== '0.0.0.0' && host !== '::');
  const { port } = parseHostPort(config.listen);
  const uiHost = config.hostNames[0] ?? hostname();
  return {
    names: [...listenHosts, ...config.hostNames, new URL(agentUrl).hostname],
    serviceHost,
    uiUrl: `${mainIsHttps ? 'https' : 'http'}://${uiHost}:${port}/`,
  };
}
