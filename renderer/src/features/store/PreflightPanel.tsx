import type { ApiError } from '../../api/client.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import type { Preflight } from './deploy-form.ts';

const resourceNames: Record<string, string> = {
  vms: 'VMs',
  vcpu: 'vCPUs',
  memoryMiB: 'Memory (MiB)',
  diskGiB: 'Disk (GiB)',
};

/** The pre-flight's answer: each resource with what is needed, used and left, then the other checks. */
export function PreflightPanel({
  preflight,
  error,
}: {
  preflight: Preflight | null;
  error: ApiError | null;
}) {
  const capacity = preflight?.checks.filter((check) => check.check.startsWith('capacity.')) ?? [];
  const others = preflight?.checks.filter((check) => !check.check.startsWith('capacity.')) ?? [];
  return (
    <div className="panel preflight" aria-labelledby="preflight-title">
      <h2 id="preflight-title">Pre-flight</h2>
      <p id="preflight-status" role="status" className={preflight?.ok ? 'ok' : 'error'}>
        {error
          ? 'The pre-flight could not run.'
          : !preflight
            ? 'Checking…'
            : preflight.ok
              ? 'Everything this deploy needs is there.'
              : 'Cannot deploy yet: see what is missing below.'}
      </p>
      <ErrorText error={error} />
      {preflight && (
        <>
          <table>
            <thead>
              <tr>
                <th scope="col">Resource</th>
                <th scope="col">Needed</th>
                <th scope="col">Used</th>
                <th scope="col">Left</th>
              </tr>
            </thead>
            <tbody>
              {capacity.map((check) => {
                const resource = check.check.slice('capacity.'.length);
                const left = check.details.left;
                return (
                  <tr
                    key={check.check}
                    className={check.ok ? undefined : 'failed'}
                    title={check.message}
                  >
                    <th scope="row">
                      {check.ok ? '' : '✗ '}
                      {resourceNames[resource] ?? resource}
                    </th>
                    <td>{String(check.details.needed ?? '')}</td>
                    <td>{String(check.details.used ?? '')}</td>
                    <td>{typeof left === 'number' ? left : 'no limit'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {capacity
            .filter((check) => !check.ok)
            .map((check) => (
              <p key={check.check} className="error">
                {check.message}
              </p>
            ))}
          <ul className="checks">
            {others.map((check) => (
              <li key={check.check} className={check.ok ? 'ok' : 'failed'}>
                <span aria-hidden="true">{check.ok ? '✓' : '✗'}</span>{' '}
                <span className="visually-hidden">{check.ok ? 'Passed:' : 'Failed:'}</span>{' '}
                {check.message}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}
