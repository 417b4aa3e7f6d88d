import { describe, expect, it } from 'vitest';
import { buildNetworkXml } from '../../appliance/src/connectors/libvirt/private-network.ts';
import {
  gatewayOf,
  instanceAddress,
  instanceHostnames,
  instanceMac,
  maxInstancesPerNetwork,
  subnetCandidates,
} from '../../appliance/src/domain/run-network.ts';
import { tableScript } from '../../appliance/src/host/firewall.ts';
import { networkName } from '../../appliance/src/orchestrator/run-networks.ts';

describe("a run's private network", () => {
  it('gives each instance a fixed address, MAC and DNS names from its place in the run', () => {
    expect(gatewayOf('10.201.17')).toBe('10.201.17.1');
    expect(instanceAddress('10.201.17', 0)).toBe('10.201.17.2');
    expect(instanceAddress('10.201.17', maxInstancesPerNetwork - 1)).toBe('10.201.17.254');
    expect(instanceAddress('10.201.17', maxInstancesPerNetwork)).toBeNull();
    expect(instanceMac('10.201.17', 0)).toBe('52:54:00:c9:11:02');
    expect(instanceHostnames('db.1')).toEqual(['db', 'db-1']);
    expect(instanceHostnames('web.3')).toEqual(['web-3']);
  });

  it('names networks within an interface name and draws subnets from 10.200-215 skipping taken ones', () => {
    expect(networkName('aB-_x')).toMatch(/^bvn-[0-9a-f]{11}$/);
    expect(networkName('aB-_x').length).toBeLessThanOrEqual(15);
    expect(subnetCandidates(4095, new Set(['10.200.0']), 2)).toEqual(['10.215.255', '10.200.1']);
  });

  it('has no route out, no upstream resolver, and a firewall that lets the bridge reach only DHCP, DNS and the agent port', () => {
    const xml = buildNetworkXml({ name: 'bvn-0123456789a', prefix: '10.201.17' }, [
      { mac: '52:54:00:c9:11:02', ip: '10.201.17.2', names: ['db', 'db-1'] },
    ]);
    expect(xml).toContain('<forward mode="open"/>');
    expect(xml).toContain('<dnsmasq:option value="no-resolv"/>');
    expect(xml).toContain('<host mac="52:54:00:c9:11:02" name="db-1" ip="10.201.17.2"/>');
    const script = tableScript({
      name: 'bvn-0123456789a',
      gateway: '10.201.17.1',
      agentPort: 8090,
    });
    expect(script).toContain('ip daddr 10.201.17.1 tcp dport { 53, 8090 } accept');
    expect(script.indexOf('iifname "bvn-0123456789a" drop')).toBeGreaterThan(
      script.indexOf('dport { 53, 8090 } accept'),
    );
    expect(script).toContain('oifname "bvn-0123456789a" iifname "bvn-*" drop');
  });
});
