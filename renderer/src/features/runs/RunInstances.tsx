import { useState } from 'react';
import { InstanceConsole } from './InstanceConsole.tsx';
import type { RunView, Vm } from './runs-store.ts';

/** Nodes and their instances: state, the barriers each completed, IP addresses and service URLs. */
export function RunInstances({
  run,
  vms,
  showConsole,
}: {
  run: RunView;
  vms: Vm[];
  showConsole: boolean;
}) {
  const [watching, setWatching] = useState<string | null>(null);
  const vmOf = (vmId: string | null) => vms.find((vm) => vm.id === vmId);
  return (
    <>
      <div className="panel table-scroll">
        <h2 id="instances-title">Nodes and instances</h2>
        {run.nodes.map((node) => (
          <p key={node.name} className="muted">
            <strong>{node.name}</strong>: {node.multiplicity} × {node.resources.vcpu} vCPU,{' '}
            {node.resources.memoryMiB} MiB, {node.resources.diskGiB} GiB on{' '}
            {node.cloudId === 'box' ? 'this box' : node.cloudId}
          </p>
        ))}
        <table aria-labelledby="instances-title">
          <thead>
            <tr>
              <th scope="col">Instance</th>
              <th scope="col">State</th>
              <th scope="col">Completed</th>
              <th scope="col">IP</th>
              <th scope="col">Service</th>
              {showConsole && (
                <th scope="col">
                  <span className="visually-hidden">Console</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {run.instances.map((instance) => {
              const vm = vmOf(instance.vmId);
              const url = run.params[`${instance.name}:url.service`];
              return (
                <tr key={instance.name}>
                  <td>{instance.name}</td>
                  <td>
                    {instance.state}
                    {vm && vm.state !== instance.state ? (
                      <span className="muted"> (VM {vm.state})</span>
                    ) : null}
                    {instance.error && <div className="error">{instance.error}</div>}
                  </td>
                  <td>{instance.completed.join(', ') || '—'}</td>
                  <td>{vm?.ips.length ? vm.ips.join(', ') : '—'}</td>
                  <td>
                    {url ? (
                      <a href={url} target="_blank" rel="noreferrer">
                        {url}
                      </a>
                    ) : (
                      '—'
                    )}
                  </td>
                  {showConsole && (
                    <td>
                      <button
                        type="button"
                        className="secondary"
                        aria-pressed={watching === instance.name}
                        disabled={!instance.vmId}
                        onClick={() =>
                          setWatching(watching === instance.name ? null : instance.name)
                        }
                      >
                        Console<span className="visually-hidden"> of {instance.name}</span>
                      </button>
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {showConsole && watching && (
        <InstanceConsole
          key={`${watching} ${run.instances.find((instance) => instance.name === watching)?.vmId ?? ''}`}
          runId={run.id}
          instance={watching}
        />
      )}
    </>
  );
}
