import { useState, type FormEvent } from 'react';
import {
  actions,
  roles,
  type AclRule,
  type Action,
  type Role,
} from '../../../appliance/src/domain/access.ts';
import type { ApiError, Result } from '../api/client.ts';
import { ErrorText } from '../ui/ErrorText.tsx';
import { useUserNames } from './use-user-names.ts';

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
 * Who besides the owner may view, edit, run or manage a module or a run. A role's own limits
 * still apply (a viewer never edits). The rules shown are those the page last loaded (it reloads
 * on every change, here or elsewhere), or this panel's own answer until then; each change names
 * the rules it was made from, so the box refuses it if someone changed them meanwhile.
 */
export function SharingPanel({
  acl,
  save,
  note,
  level = 3,
}: {
  acl: readonly AclRule[];
  /** Stores `acl`, made from `expected`; answers with the rules as stored. */
  save: (acl: AclRule[], expected: AclRule[]) => Promise<Result<{ acl: AclRule[] }>>;
  /** What else the reader should know of these rules. */
  note?: string;
  /** The heading's level where the panel sits. */
  level?: 2 | 3;
}) {
  const Heading = level === 2 ? 'h2' : 'h3';
  const names = useUserNames();
  const [answer, setAnswer] = useState<{ from: readonly AclRule[]; acl: AclRule[] } | null>(null);
  const rules = answer && answer.from === acl ? answer.acl : acl;
  const [who, setWho] = useState<Who>('everyone');
  const [allow, setAllow] = useState<Action[]>(['view']);
  const [error, setError] = useState<ApiError | null>(null);
  const [status, setStatus] = useState('');

  async function store(next: AclRule[]) {
    const result = await save(next, [...rules]);
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
      <Heading id="sharing-title">Sharing</Heading>
      {rules.length === 0 && (
        <p className="muted">Only the owner and administrators have access.</p>
      )}
      {note && <p className="muted">{note}</p>}
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
