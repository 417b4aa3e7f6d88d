import { useState, type FormEvent } from 'react';
import {
  actions,
  roles,
  type AclRule,
  type Action,
  type Role,
} from '../../../../appliance/src/domain/access.ts';
import { callSafe, type ApiError } from '../../api/client.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { useUserNames } from '../runs/use-user-names.ts';

type Who = 'everyone' | `role:${string}` | `user:${string}`;

function whoOf(rule: AclRule): Who {
  if ('everyone' in rule) return 'everyone';
  if ('role' in rule) return `role:${rule.role}`;
  return `user:${rule.user}`;
}

function ruleFor(who: Who, allow: Action[]): AclRule {
  if (who === 'everyone') return { everyone: true, allow };
  if (who.startsWith('role:')) return { role: who.slice(5) as Role, allow };
  return { user: who.slice(5), allow };
}

/**
 * Who besides the owner may view, edit, run or manage the module. A role's own limits still
 * apply (a viewer never edits); new modules in a project start with the project's rules.
 * The rules shown are the module's as the page last loaded them (it reloads on every change,
 * here or elsewhere), or this panel's own answer until then; each change names the rules it was
 * made from, so the box refuses it if someone changed them meanwhile.
 */
export function SharingPanel({ path, acl }: { path: string; acl: readonly AclRule[] }) {
  const names = useUserNames();
  const [answer, setAnswer] = useState<{ from: readonly AclRule[]; acl: AclRule[] } | null>(null);
  const rules = answer && answer.from === acl ? answer.acl : acl;
  const [who, setWho] = useState<Who>('everyone');
  const [allow, setAllow] = useState<Action[]>(['view']);
  const [error, setError] = useState<ApiError | null>(null);
  const [status, setStatus] = useState('');

  async function store(next: AclRule[]) {
    const result = await callSafe('setModuleAcl', {
      query: { path },
      body: { acl: next, expected: [...rules] },
    });
    setError(result.ok ? null : result.error);
    setStatus(result.ok ? 'Sharing saved.' : '');
    if (result.ok) setAnswer({ from: acl, acl: result.value.acl });
  }
  function add(event: FormEvent) {
    event.preventDefault();
    void store([...rules.filter((rule) => whoOf(rule) !== who), ruleFor(who, allow)]);
  }
  const describe = (rule: AclRule): string => {
    const target = whoOf(rule);
    if (target === 'everyone') return 'Everyone';
    if (target.startsWith('role:')) return `Every ${target.slice(5)}`;
    return names.get(target.slice(5)) ?? target.slice(5);
  };

  return (
    <section className="panel" aria-labelledby="sharing-title">
      <h3 id="sharing-title">Sharing</h3>
      {rules.length === 0 && (
        <p className="muted">Only the owner and administrators have access.</p>
      )}
      <ul className="list" aria-label="Access rules">
        {rules.map((rule) => (
          <li key={whoOf(rule)}>
            <span>
              {describe(rule)}: {rule.allow.join(', ') || 'nothing'}
            </span>
            <button
              type="button"
              className="secondary"
              onClick={() => void store(rules.filter((other) => other !== rule))}
            >
              Remove
            </button>
          </li>
        ))}
      </ul>
      <form className="inline" onSubmit={add} aria-label="Add an access rule">
        <label>
          Who
          <select value={who} onChange={(event) => setWho(event.target.value as Who)}>
            <option value="everyone">Everyone</option>
            {roles.map((role) => (
              <option key={role} value={`role:${role}`}>
                Every {role}
              </option>
            ))}
            {[...names].map(([id, name]) => (
              <option key={id} value={`user:${id}`}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <fieldset className="checks-inline">
          <legend>May</legend>
          {actions.map((action) => (
            <label key={action} className="check">
              <input
                type="checkbox"
                checked={allow.includes(action)}
                onChange={(event) =>
                  setAllow(
                    event.target.checked
                      ? [...allow, action]
                      : allow.filter((other) => other !== action),
                  )
                }
              />
              {action}
            </label>
          ))}
        </fieldset>
        <button type="submit" disabled={allow.length === 0}>
          Add rule
        </button>
      </form>
      <p role="status">{status}</p>
      <ErrorText error={error} />
    </section>
  );
}
