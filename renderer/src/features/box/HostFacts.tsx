import { formatBytes } from '../../ui/format-bytes.ts';
import { Fingerprint } from '../setup/FirstRun.tsx';
import type { BoxFacts } from './box-store.ts';
import { formatUptime } from './box-format.ts';

const acceleratorLabel = {
  kvm: 'KVM (hardware virtualisation)',
  tcg: 'TCG (emulated, slower)',
} as const;

/**
 * What the host is, where its data lives and how it is reached. Mounts, interfaces, listen
 * addresses and the hypervisor URI come for administrators only; others see the data disk's
 * size and free space.
 */
export function HostFacts({ facts }: { facts: BoxFacts }) {
  return (
    <>
      <div className="panel">
        <h2 id="box-host">Host</h2>
        <dl className="facts" aria-labelledby="box-host">
          <dt>Appliance version</dt>
          <dd data-fact="version">{facts.version}</dd>
          <dt>Hostname</dt>
          <dd data-fact="hostname">{facts.hostname}</dd>
          <dt>Operating system</dt>
          <dd data-fact="os">
            {[facts.os.distro, facts.os.release].filter(Boolean).join(' ') || 'not known'} · kernel{' '}
            {facts.os.kernel || 'not known'} · {facts.os.arch}
          </dd>
          <dt>CPU</dt>
          <dd data-fact="cpu">
            {facts.cpu.model || 'not known'} · {facts.cpu.cores} logical cores
            {facts.cpu.physicalCores !== null && `, ${facts.cpu.physicalCores} physical`}
          </dd>
          <dt>Memory</dt>
          <dd data-fact="memory">{formatBytes(facts.memoryTotalBytes)}</dd>
          <dt>Uptime</dt>
          <dd data-fact="uptime">{formatUptime(facts.uptimeSeconds)}</dd>
          <dt>Accelerator</dt>
          <dd data-fact="accelerator">
            {facts.accelerator
              ? acceleratorLabel[facts.accelerator]
              : 'not known (dry run: no real VMs)'}
          </dd>
          <dt>Data disk</dt>
          <dd data-fact="data-disk">
            {facts.dataDisk
              ? `${formatBytes(facts.dataDisk.freeBytes)} free of ${formatBytes(facts.dataDisk.sizeBytes)}`
              : 'not known'}
          </dd>
          <dt>Disk for VMs</dt>
          <dd data-fact="vm-disk">
            {facts.vmDisk.free} GiB free of {facts.vmDisk.total} GiB ({facts.vmDisk.held} GiB held
            by runs), as pre-flight and the Dashboard count it
          </dd>
          {facts.hypervisor.uri !== undefined && (
            <>
              <dt>Hypervisor</dt>
              <dd data-fact="hypervisor">
                <code>{facts.hypervisor.uri}</code>
              </dd>
            </>
          )}
          {facts.listen && (
            <>
              <dt>Listens on</dt>
              <dd data-fact="listen">
                {facts.listen.length
                  ? facts.listen.map((url) => <code key={url}>{url} </code>)
                  : 'not yet'}
              </dd>
            </>
          )}
        </dl>
        {facts.tlsFingerprint && <Fingerprint value={facts.tlsFingerprint} />}
      </div>
      {facts.disks && <DisksPanel disks={facts.disks} />}
      {facts.network && <NetworkPanel network={facts.network} />}
    </>
  );
}

function DisksPanel({ disks }: { disks: NonNullable<BoxFacts['disks']> }) {
  return (
    <div className="panel table-scroll">
      <h2 id="box-disks">Disks</h2>
      <table aria-labelledby="box-disks">
        <thead>
          <tr>
            <th scope="col">Mount</th>
            <th scope="col">File system</th>
            <th scope="col">Size</th>
            <th scope="col">Used</th>
            <th scope="col">Free</th>
          </tr>
        </thead>
        <tbody>
          {disks.map((disk) => (
            <tr key={disk.mount}>
              <th scope="row">
                <code>{disk.mount}</code>{' '}
                {disk.holdsDataDir && <span className="badge state-good">Bivouac&apos;s data</span>}
              </th>
              <td>{[disk.filesystem, disk.type].filter(Boolean).join(' · ') || '—'}</td>
              <td>{formatBytes(disk.sizeBytes)}</td>
              <td>
                {formatBytes(disk.usedBytes)}{' '}
                <small className="muted">
                  ({disk.sizeBytes > 0 ? Math.round((disk.usedBytes / disk.sizeBytes) * 100) : 0} %)
                </small>
              </td>
              <td>{formatBytes(disk.freeBytes)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function NetworkPanel({ network }: { network: NonNullable<BoxFacts['network']> }) {
  return (
    <div className="panel table-scroll">
      <h2 id="box-network">Network</h2>
      <table aria-labelledby="box-network">
        <thead>
          <tr>
            <th scope="col">Interface</th>
            <th scope="col">Addresses</th>
            <th scope="col">MAC</th>
            <th scope="col">Link</th>
          </tr>
        </thead>
        <tbody>
          {network.map((iface) => (
            <tr key={iface.name}>
              <th scope="row">
                {iface.name}{' '}
                {iface.internal ? (
                  <small className="muted">loopback</small>
                ) : (
                  iface.virtual && <small className="muted">virtual</small>
                )}
              </th>
              <td>
                {iface.addresses.length
                  ? iface.addresses.map((address) => (
                      <code key={address} className="address">
                        {address}
                      </code>
                    ))
                  : '—'}
              </td>
              <td>
                <code>{iface.mac ?? '—'}</code>
              </td>
              <td>
                {iface.up ? (
                  <span className="badge state-good">up</span>
                ) : (
                  <span className="badge state-done">down</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
