import { describe, expect, it } from 'vitest';
import { pickLibvirtUri } from '../../appliance/src/connectors/libvirt/default-uri.ts';

const daemons = (...answering: string[]) => {
  const asked: string[] = [];
  const probe = async (uri: string): Promise<boolean> => {
    asked.push(uri);
    return answering.includes(uri);
  };
  return { probe, asked };
};

describe('the default hypervisor URI', () => {
  it('uses a configured URI without probing', async () => {
    const { probe, asked } = daemons();
    expect(await pickLibvirtUri('qemu+tcp://10.0.0.2/system', probe, true)).toMatchObject({
      uri: 'qemu+tcp://10.0.0.2/system',
      dryRun: false,
    });
    expect(await pickLibvirtUri('test:///default', probe, true)).toMatchObject({ dryRun: true });
    expect(asked).toEqual([]);
  });

  it('prefers the system daemon', async () => {
    const { probe } = daemons('qemu:///system', 'qemu:///session');
    expect(await pickLibvirtUri(null, probe, false)).toMatchObject({
      uri: 'qemu:///system',
      dryRun: false,
    });
  });

  it('falls back to the session daemon for an ordinary user only', async () => {
    expect(await pickLibvirtUri(null, daemons('qemu:///session').probe, false)).toMatchObject({
      uri: 'qemu:///session',
    });
    const root = daemons('qemu:///session');
    expect(await pickLibvirtUri(null, root.probe, true)).toMatchObject({
      uri: 'test:///default',
      dryRun: true,
    });
    expect(root.asked).toEqual(['qemu:///system']);
  });

  it('ends on the test driver, marked as a dry run, when nothing answers', async () => {
    const choice = await pickLibvirtUri(null, daemons().probe, false);
    expect(choice).toEqual({
      uri: 'test:///default',
      dryRun: true,
      reason: 'no libvirt daemon answers',
    });
  });
});
