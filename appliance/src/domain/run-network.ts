/**
 * A run's network: where the run's guests live and how they reach the appliance. Pure rules —
 * names, addresses, the DNS names of instances — used by the orchestrator and the connectors.
 *
 * - `private`: the run has its own network on the box (a bridge with no way out): its instances
 *   get fixed addresses and DNS names, the only host address is the gateway, which answers
 *   DHCP, DNS and the agent API and nothing else; declared ports are published to the LAN by
 *   DNAT from the box's public address.
 * - `user`: the fallback where bridges are not allowed (a remote host, an unprivileged box):
 *   QEMU's user networking; the agent URL is an agent-only listener on the host's loopback.
 *   QEMU here cannot confine it further: `restrict=on` leaves only guestfwd, whose `cmd:` relay
 *   libvirt's seccomp sandbox kills (spawn=deny) and whose character device carries one
 *   connection only, so the guest still reaches the host's loopback and the outside.
 */
export type RunNetwork =
  | {
      mode: 'private';
      /** The libvirt network, its bridge and its firewall table: `bvn-` and 11 hex digits. */
      name: string;
      /**
       * The subnet's first three octets: `10.201.17`; the gateway is `.1`, instances `.2`…
       * Null until the network is made (the subnet is chosen then, among those free on the box).
       */
      prefix: string | null;
    }
  | { mode: 'user' };

/** The network of runs made before networks were per run: user networking. */
export const legacyNetwork: RunNetwork = { mode: 'user' };

/** Addresses in a run's /24 are `.2` … `.254`: this many instances at most. */
export const maxInstancesPerNetwork = 253;

/** Where the agent listener serves a private network's guests. */
export const agentPort = 8090;

/** The gateway: the network's only host address. */
export function gatewayOf(prefix: string): string {
  return `${prefix}.1`;
}

/**
 * The address of the instance at `position` in the run's instance list (instances are only
 * ever appended, so a position never changes meaning). Null beyond the subnet.
 */
export function instanceAddress(prefix: string, position: number): string | null {
  return position < maxInstancesPerNetwork ? `${prefix}.${position + 2}` : null;
}

/** A fixed MAC per network and position, so the DHCP host entry is known before launch. */
export function instanceMac(prefix: string, position: number): string {
  const [, second, third] = prefix.split('.').map(Number) as [number, number, number];
  const hex = (value: number) => value.toString(16).padStart(2, '0');
  return `52:54:00:${hex(second)}:${hex(third)}:${hex(position + 2)}`;
}

/**
 * The DNS names an instance answers to inside its run: `db-1`, and for the first instance of a
 * node also the node's own name `db` (instances are `node.i`; a dot would be a domain).
 */
export function instanceHostnames(instance: string): string[] {
  const [node, index] = instance.split('.') as [string, string];
  return index === '1' ? [node, `${node}-${index}`] : [`${node}-${index}`];
}

/**
 * The subnet prefixes a run may get, in the order to try them: 10.200.0 … 10.215.255, starting
 * at a place drawn from the run's name so that two appliances on one box rarely try the same
 * one first. `taken` are prefixes already in use.
 */
export function subnetCandidates(seed: number, taken: ReadonlySet<string>, count = 16): string[] {
  const found: string[] = [];
  for (let step = 0; step < 4096 && found.length < count; step += 1) {
    const slot = (seed + step) % 4096;
    const prefix = `10.${200 + (slot >> 8)}.${slot & 255}`;
    if (!taken.has(prefix)) found.push(prefix);
  }
  return found;
}
