import { describe, expect, it } from 'vitest';
import type { FormField } from '../../appliance/src/domain/manifest.ts';
import {
  fieldProblem,
  formProblems,
  initialValues,
  multiplicities,
  parametersOf,
  sizeLimits,
  type Preflight,
} from '../../renderer/src/features/store/deploy-form.ts';

const field = (overrides: Partial<FormField>): FormField => ({
  key: 'web:x',
  label: 'X',
  type: 'string',
  required: true,
  generate: false,
  sets: 'input',
  ...overrides,
});

describe("the deploy form's rules", () => {
  it('starts each field from its default, the first option or false', () => {
    expect(
      initialValues([
        field({ key: 'a:b', default: 'hi' }),
        field({ key: 'a:c', type: 'enum', options: ['x', 'y'] }),
        field({ key: 'a:d', type: 'boolean' }),
        field({ key: 'a:e' }),
      ]),
    ).toEqual({
      'a:b': 'hi',
      'a:c': 'x',
      'a:d': 'false',
      'a:e': '',
    });
  });

  it('says what is wrong, in words, field by field', () => {
    expect(fieldProblem(field({}), '')).toBe('Required.');
    expect(fieldProblem(field({ required: false }), '')).toBeNull();
    expect(fieldProblem(field({ type: 'password', generate: true }), '')).toBeNull();
    expect(fieldProblem(field({ type: 'hostname' }), 'not a host!')).toBe('Must be a host name.');
    expect(fieldProblem(field({ type: 'number', min: 1, max: 8 }), '0')).toBe(
      'Must be at least 1.',
    );
    expect(fieldProblem(field({ type: 'number', min: 1, max: 8 }), '9')).toBe('Must be at most 8.');
    expect(fieldProblem(field({ type: 'number', sets: 'multiplicity' }), '1.5')).toBe(
      'Must be a whole number.',
    );
    expect(
      fieldProblem(field({ type: 'number', sets: 'multiplicity', max: 8 }), '5', {
        max: 4,
        reason: '4 VMs left',
      }),
    ).toBe('At most 4: 4 VMs left.');
    expect(fieldProblem(field({ type: 'enum', options: ['a'] }), 'b')).toBe('Must be one of: a.');
    expect(
      formProblems(
        [field({ key: 'a:b' }), field({ key: 'a:c', default: 'x' })],
        { 'a:b': '', 'a:c': '' },
        {},
      ),
    ).toEqual({ 'a:b': 'Required.' });
  });

  it('sends only what was typed, and sizes nodes from their size fields', () => {
    const form = [
      field({ key: 'member:count', type: 'number', sets: 'multiplicity' }),
      field({ key: 'web:title', required: false }),
    ];
    expect(multiplicities(form, { 'member:count': '3', 'web:title': '' })).toEqual({ member: 3 });
    expect(multiplicities(form, { 'member:count': '', 'web:title': '' })).toEqual({});
    // Outside the field's bounds it is not sent: the box would refuse it, the field says why.
    const bounded = [
      field({ key: 'member:count', type: 'number', sets: 'multiplicity', min: 1, max: 3 }),
    ];
    expect(multiplicities(bounded, { 'member:count': '4' })).toEqual({});
    expect(multiplicities(bounded, { 'member:count': '0' })).toEqual({});
    expect(multiplicities(bounded, { 'member:count': '3' })).toEqual({ member: 3 });
    // Left empty, the field's default is what the deploy uses, so the pre-flight checks it too.
    const withDefault = [
      field({ key: 'member:count', type: 'number', sets: 'multiplicity', default: '2' }),
    ];
    expect(multiplicities(withDefault, { 'member:count': ' ' })).toEqual({ member: 2 });
    expect(parametersOf(form, { 'member:count': '3', 'web:title': ' ' })).toEqual({
      'member:count': '3',
    });
  });

  it('limits a size to what the tightest resource has left', () => {
    const capacity = (resource: string, left: number | null) => ({
      check: `capacity.${resource}`,
      ok: true,
      message: '',
      details: { left },
    });
    const preflight: Preflight = {
      ok: true,
      footprint: { vms: 2, vcpu: 4, memoryMiB: 1024, diskGiB: 2 },
      checks: [
        capacity('vms', 6),
        capacity('vcpu', 8),
        capacity('memoryMiB', null),
        capacity('diskGiB', 100),
      ],
      nodes: [
        {
          name: 'member',
          cloudId: 'box',
          multiplicity: 2,
          resources: { vcpu: 2, memoryMiB: 512, diskGiB: 1 },
          cloudChoice: 'any',
        },
      ],
    };
    // vCPUs: 8 left, 4 held by the two asked, 2 per member: 2 more, so 4 at most.
    expect(
      sizeLimits([field({ key: 'member:count', type: 'number', sets: 'multiplicity' })], preflight),
    ).toEqual({ 'member:count': { max: 4, reason: '8 vCPUs left' } });
    expect(sizeLimits([field({ key: 'web:title' })], preflight)).toEqual({});
  });
});
