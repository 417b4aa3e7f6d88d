import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BivouacError } from '../errors.ts';

const run = promisify(execFile);

/** What a run network's firewall table needs to know. */
export interface FirewallPlan {
  /** The table's name, the run network's bridge too: `bvn-` and 11 hex digits. */
  name: string;
  /** The network's only host address. */
  gateway: string;
  /** The agent listener's port on the gateway. */
  agentPort: number;
}

/** A published port: the box's public address and port, forwarded to a guest. */
export interface Dnat {
  publicAddress: string;
  publicPort: number;
  guest: string;
  guestPort: number;
}

const tablePattern = /^bvn-[0-9a-f]{11}$/;

async function nft(args: string[], what: string): Promise<string> {
  try {
    const { stdout } = await run('nft', args, { timeout: 10_000 });
    return stdout;
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message?: string };
    const reason = (stderr || message || '').trim();
    throw new BivouacError('NETWORK_FAILED', `Cannot ${what}: ${reason}`, { reason });
  }
}

/**
 * The nftables table of one run network, in the appliance's own tables (`inet bvn-…`), made
 * and removed with the network in one transaction each. The bridge's traffic to the host is
 * DHCP, DNS and the agent port on the gateway (and answers to connections the box opened),
 * nothing else; nothing from the bridge is routed
 * anywhere except answers of connections the box's LAN opened to published ports; the bridge
 * receives nothing routed except those published connections (never another run's guests).
 * Its chains run just before the usual filter priority, so their drops hold whatever other
 * tables accept.
 */
export function tableScript(plan: FirewallPlan): string {
  const bridge = JSON.stringify(plan.name);
  return [
    `table inet ${plan.name} {`,
    '  chain input {',
    '    type filter hook input priority filter - 1; policy accept;',
    `    iifname ${bridge} ct state established,related accept`,
    `    iifname ${bridge} udp dport 67 accept`,
    `    iifname ${bridge} ip daddr ${plan.gateway} udp dport 53 accept`,
    `    iifname ${bridge} ip daddr ${plan.gateway} tcp dport { 53, ${plan.agentPort} } accept`,
    `    iifname ${bridge} drop`,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter - 1; policy accept;',
    `    iifname ${bridge} oifname ${bridge} accept`,
    `    iifname ${bridge} ct state established,related ct status dnat accept`,
    `    iifname ${bridge} drop`,
    `    oifname ${bridge} iifname "bvn-*" drop`,
    `    oifname ${bridge} ct status dnat accept`,
    `    oifname ${bridge} drop`,
    '  }',
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    '  }',
    '  chain output {',
    '    type nat hook output priority -100; policy accept;',
    '  }',
    '}',
  ].join('\n');
}

/** Makes the table (replacing one a crash left behind). */
export async function createTable(plan: FirewallPlan): Promise<void> {
  if (!tablePattern.test(plan.name)) throw new Error(`bug: not a run network name: ${plan.name}`);
  // One transaction: a table of that name is made (if missing), dropped, and made anew.
  await nft(
    [`add table inet ${plan.name}\ndelete table inet ${plan.name}\n${tableScript(plan)}`],
    `make the firewall table of ${plan.name}`,
  );
}

/**
 * Publishes a guest port on the box's public address: from the LAN (never from a run's bridge)
 * and from the box itself.
 */
export async function addDnat(name: string, dnat: Dnat): Promise<void> {
  const match = [
    'ip',
    'daddr',
    dnat.publicAddress,
    'tcp',
    'dport',
    String(dnat.publicPort),
    'dnat',
    'ip',
    'to',
    `${dnat.guest}:${dnat.guestPort}`,
  ];
  await nft(
    ['add', 'rule', 'inet', name, 'prerouting', 'iifname', '!=', '"bvn-*"', ...match],
    `publish port ${dnat.guestPort} of ${dnat.guest}`,
  );
  await nft(
    ['add', 'rule', 'inet', name, 'output', ...match],
    `publish port ${dnat.guestPort} of ${dnat.guest}`,
  );
}

/** Removes the table; one already gone is not an error. */
export async function removeTable(name: string): Promise<void> {
  if (!tablePattern.test(name)) return;
  await nft(['delete', 'table', 'inet', name], `remove the firewall table of ${name}`).catch(
    (error: BivouacError) => {
      if (!/no such file|not found|does not exist/i.test(String(error.details.reason))) throw error;
    },
  );
}

/** The run network tables there are. */
export async function listTables(): Promise<string[]> {
  const out = await nft(['list', 'tables', 'inet'], 'list the firewall tables');
  return out
    .split('\n')
    .map((line) => /^table inet (\S+)$/.exec(line.trim())?.[1])
    .filter((name): name is string => name !== undefined && tablePattern.test(name));
}

/** Public ports the tables publish already (so a new one is not given twice). */
export async function publishedPorts(): Promise<Set<number>> {
  const ports = new Set<number>();
  for (const name of await listTables()) {
    const out = await nft(['list', 'table', 'inet', name], 'read a firewall table').catch(() => '');
    for (const match of out.matchAll(/tcp dport (\d+) dnat/g)) ports.add(Number(match[1]));
  }
  return ports;
}

/** Can this process change the host's firewall (root, nft installed)? */
export async function canFirewall(): Promise<boolean> {
  try {
    await run('nft', ['list', 'tables'], { timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}
