import { byCodePoint } from './order.ts';

/**
 * Tenancy: who may do what. Every resource (module, run, token, user) has an owner and an ACL;
 * `canAccess` is the single check the API and the event stream use.
 */

export const roles = ['admin', 'operator', 'viewer'] as const;
export type Role = (typeof roles)[number];

export const actions = ['view', 'edit', 'run', 'manage'] as const;
export type Action = (typeof actions)[number];

/** Who is asking. A kiosk session is a restricted view of the box's screen. */
export interface Subject {
  userId: string;
  role: Role;
}

/** One ACL rule: a user, a role or everyone gets some actions. */
export type AclRule =
  | { user: string; allow: Action[] }
  | { role: Role; allow: Action[] }
  | { everyone: true; allow: Action[] };

/** Owner plus rules, carried by every shared resource. */
export interface Access {
  owner: string;
  acl: AclRule[];
}

/** What each role may do at most, whatever an ACL grants. */
const roleCeiling: Record<Role, ReadonlySet<Action>> = {
  admin: new Set(actions),
  operator: new Set<Action>(['view', 'edit', 'run', 'manage']),
  viewer: new Set<Action>(['view']),
};

export function roleAllows(role: Role, action: Action): boolean {
  return roleCeiling[role].has(action);
}

function ruleMatches(rule: AclRule, subject: Subject): boolean {
  if ('user' in rule) return rule.user === subject.userId;
  if ('role' in rule) return rule.role === subject.role;
  return rule.everyone;
}

/**
 * May `subject` perform `action` on a resource with `access`? Admins may do everything; the
 * owner may do everything their role allows; others need a matching ACL rule, and the role's
 * ceiling still applies (an ACL cannot make a viewer an editor).
 */
export function canAccess(subject: Subject, access: Access, action: Action): boolean {
  if (subject.role === 'admin') return true;
  if (!roleAllows(subject.role, action)) return false;
  if (access.owner === subject.userId) return true;
  return access.acl.some((rule) => ruleMatches(rule, subject) && rule.allow.includes(action));
}

/** The same rules, whatever the order of the rules, of their fields and of their actions. */
export function sameRules(a: readonly AclRule[], b: readonly AclRule[]): boolean {
  const canonical = (rules: readonly AclRule[]) =>
    rules
      .map((rule) =>
        JSON.stringify(
          Object.entries({ ...rule, allow: [...rule.allow].sort() }).sort(([x], [y]) =>
            byCodePoint(x, y),
          ),
        ),
      )
      .sort()
      .join('\n');
  return canonical(a) === canonical(b);
}

/** Access for something only its owner (and admins) may see. */
export function privateTo(owner: string): Access {
  return { owner, acl: [] };
}

/** Access for something every signed-in user may see. */
export function visibleToAll(owner: string): Access {
  return { owner, acl: [{ everyone: true, allow: ['view'] }] };
}
