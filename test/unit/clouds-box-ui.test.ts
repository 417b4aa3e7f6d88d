import { describe, expect, it } from 'vitest';
import { ApiError } from '../../renderer/src/api/client.ts';
import type { LiveEvent } from '../../renderer/src/api/events.ts';
import type {
  EventPayloads,
  EventType,
  ImageEventData,
} from '../../appliance/src/domain/events.ts';
import {
  formatFields,
  formatUptime,
  imageNameOf,
} from '../../renderer/src/features/box/box-format.ts';
import { useBox, type LogLine } from '../../renderer/src/features/box/box-store.ts';
import {
  percentDone,
  progressAfter,
  type ProgressMap,
} from '../../renderer/src/features/box/import-progress.ts';
import {
  addCloudBody,
  cloudFormProblems,
  emptyCloudForm,
  serverProblems,
} from '../../renderer/src/features/clouds/cloud-form.ts';
import { vmsOfCloud, type VmList } from '../../renderer/src/features/clouds/clouds-store.ts';
import { libvirtConfigSchema } from '../../appliance/src/connectors/libvirt/libvirt-config.ts';

const place = { keysDir: '/var/lib/bivouac/keys' };
const libvirtConfig = libvirtConfigSchema(place.keysDir);

const form = (overrides: Partial<typeof emptyCloudForm>) => ({
  ...emptyCloudForm,
  name: 'Rack 2',
  uri: 'qemu+ssh://root@10.0.0.2/system',
  ...overrides,
});

describe('the add-a-cloud form', () => {
  it("judges every URI as the connector's config schema does", () => {
    const uris = [
      'qemu+ssh://root@h/system',
      'qemu+tcp://h/system',
      'qemu+tls://h:16514/system',
      'qemu+unix:///system',
      'qemu:///system',
      'qemu:///session',
      'qemu+ssh://user@rack-2/session',
      'qemu+ssh://root@h/system?keyfile=/root/.ssh/id_ed25519',
      'qemu+ssh://root@h/system?keyfile=/var/lib/bivouac/keys/id_ed25519',
      'test:///default',
      'test+tcp://h/default',
      'test+unix:///default?socket=/run/libvirt/test-sock',
      'test+unix:///default?socket=/tmp/x/libvirt-sock',
      'qemu+ssh://h/anything',
      'qemu+ssh://root@rack-2/sys',
      'qemu+ssh://h /system',
      'qemu:///system ',
      'qemu+ftp://h/system',
      'qemu://h',
      'http://h/system',
      'test:///other',
      'xen:///system',
      'qemu:///system?x=<script>',
      'QEMU:///system',
      '',
    ];
    // The connector judges what the form would send (the form trims what was typed).
    const verdicts = uris.map((uri) => ({
      uri,
      form: cloudFormProblems(form({ uri }), [], place).uri === undefined,
      connector: libvirtConfig.safeParse(addCloudBody(form({ uri })).config).success,
    }));
    expect(verdicts.filter((verdict) => verdict.form !== verdict.connector)).toEqual([]);
    // Both verdicts occur, so the table tests the agreement and not one answer.
    expect(new Set(verdicts.map((verdict) => verdict.connector))).toEqual(new Set([true, false]));
  });

  it('names each field that is wrong, before anything is sent', () => {
    expect(cloudFormProblems({ ...emptyCloudForm, callTimeoutSeconds: '0' }, [], place)).toEqual({
      name: 'Give the cloud a name.',
      uri: 'Give the libvirt URI of the host.',
      callTimeoutSeconds: 'From 1 to 600 seconds.',
    });
    // Worded as the appliance's own refusal of the field.
    const refusal = libvirtConfig.safeParse({ uri: 'http://h/system' }).error!.issues[0]!.message;
    expect(cloudFormProblems(form({ uri: 'http://h/system' }), [], place).uri).toBe(
      `It ${refusal}.`,
    );
    expect(cloudFormProblems(form({ name: 'this box' }), ['This box'], place).name).toBe(
      'A cloud of this name exists already.',
    );
    expect(cloudFormProblems(form({ name: 'x'.repeat(65) }), [], place).name).toBe(
      'At most 64 characters.',
    );
    expect(
      cloudFormProblems(form({ callTimeoutSeconds: '601' }), [], place).callTimeoutSeconds,
    ).toBeDefined();
  });

  it('sends a libvirt config with the timeout as a number', () => {
    expect(
      addCloudBody(form({ name: ' Rack 2 ', accelerator: 'tcg', callTimeoutSeconds: '12' })),
    ).toEqual({
      name: 'Rack 2',
      kind: 'libvirt',
      config: {
        uri: 'qemu+ssh://root@10.0.0.2/system',
        accelerator: 'tcg',
        callTimeoutSeconds: 12,
      },
    });
  });

  it("places the appliance's refusal beside the fields it names", () => {
    const refusal = new ApiError(
      400,
      'VALIDATION_FAILED',
      'Invalid config for a libvirt cloud: …',
      {
        fields: [
          { field: 'body.config.uri', message: 'must be a libvirt URI' },
          { field: 'body.other', message: 'is not a known field' },
        ],
      },
    );
    expect(serverProblems(refusal)).toEqual({ uri: 'It must be a libvirt URI.' });
    const taken = new ApiError(
      409,
      'CLOUD_NAME_TAKEN',
      'A cloud named "Rack 2" exists already; choose another name.',
      { field: 'name' },
    );
    expect(serverProblems(taken)).toEqual({ name: taken.message });
  });
});

describe("a cloud's VMs", () => {
  const list: VmList = {
    vms: [
      {
        id: 'v2',
        cloudId: 'box',
        nativeId: 'bvc-r1-web-2',
        runId: 'r1',
        instance: 'web.2',
        owner: 'u',
        reservationId: null,
        imageId: null,
        state: 'running',
        ips: ['10.0.2.15'],
        vcpu: 1,
        memoryMiB: 128,
        diskGiB: 1,
        createdAt: '',
        updatedAt: '',
        goneReason: null,
      },
      {
        id: 'v1',
        cloudId: 'box',
        nativeId: 'bvc-r1-web-1',
        runId: 'r1',
        instance: 'web.1',
        owner: 'u',
        reservationId: null,
        imageId: null,
        state: 'running',
        ips: [],
        vcpu: 1,
        memoryMiB: 128,
        diskGiB: 1,
        createdAt: '',
        updatedAt: '',
        goneReason: null,
      },
      {
        id: 'v3',
        cloudId: 'lab',
        nativeId: 'bvc-r2-db-1',
        runId: 'r2',
        instance: 'db.1',
        owner: 'u',
        reservationId: null,
        imageId: null,
        state: 'running',
        ips: [],
        vcpu: 1,
        memoryMiB: 128,
        diskGiB: 1,
        createdAt: '',
        updatedAt: '',
        goneReason: null,
      },
    ],
    unknown: [
      {
        cloudId: 'box',
        nativeId: 'bvc-old-x-1',
        name: 'bvc-old-x-1',
        state: 'running',
        runId: 'old',
      },
    ],
    foreign: [{ cloudId: 'box', nativeId: 'test', name: 'test', state: 'running', runId: null }],
    tracking: { box: 'push' },
  };

  it("lists Bivouac's own by instance, then unknown and foreign ones, for that cloud only", () => {
    expect(vmsOfCloud(list, 'box').map((vm) => [vm.name, vm.origin])).toEqual([
      ['web.1 (bvc-r1-web-1)', 'bivouac'],
      ['web.2 (bvc-r1-web-2)', 'bivouac'],
      ['bvc-old-x-1', 'unknown'],
      ['test', 'foreign'],
    ]);
    expect(vmsOfCloud(list, 'lab').map((vm) => vm.runId)).toEqual(['r2']);
    expect(vmsOfCloud(null, 'box')).toEqual([]);
  });
});

describe('import progress from the event stream', () => {
  const event = <K extends EventType>(type: K, id: string, data: EventPayloads[K]): LiveEvent =>
    ({ id: 1, type, subject: { kind: type.split('.')[0], id }, time: '', data }) as LiveEvent;
  const tiny = (status: ImageEventData['status']): ImageEventData => ({ name: 'tiny', status });

  it('follows an image from importing to ready', () => {
    let progress: ProgressMap = {};
    progress = progressAfter(
      progress,
      event('image.importing', 'i1', { ...tiny('importing'), receivedBytes: 0, totalBytes: 400 }),
    );
    expect(progress).toEqual({ 'image:i1': { receivedBytes: 0, totalBytes: 400 } });
    progress = progressAfter(
      progress,
      event('image.progress', 'i1', {
        ...tiny('importing'),
        file: 'disk',
        receivedBytes: 100,
        totalBytes: 400,
      }),
    );
    expect(percentDone(progress['image:i1']!)).toBe(25);
    progress = progressAfter(
      progress,
      event('image.ready', 'i1', { ...tiny('ready'), receivedBytes: 400, totalBytes: 400 }),
    );
    expect(progress).toEqual({});
  });

  it('keys a bundle by its source, keeps an unknown total unknown, and ignores other events', () => {
    const before: ProgressMap = {};
    const during = progressAfter(
      before,
      event('app.import.progress', '/media/usb/a.bvc', {
        source: '/media/usb/a.bvc',
        receivedBytes: 2048,
        totalBytes: null,
      }),
    );
    expect(during).toEqual({
      'bundle:/media/usb/a.bvc': { receivedBytes: 2048, totalBytes: null },
    });
    expect(percentDone(during['bundle:/media/usb/a.bvc']!)).toBeNull();
    expect(
      progressAfter(
        during,
        event('run.state', 'r1', { state: 'Ready', from: 'SendingReports', abort: null, log: [] }),
      ),
    ).toBe(during);
    expect(
      progressAfter(
        during,
        event('app.import.failed', '/media/usb/a.bvc', {
          source: '/media/usb/a.bvc',
          error: 'not a bundle',
        }),
      ),
    ).toEqual({});
    // The administrators' end of an install names its source too.
    expect(
      progressAfter(
        during,
        event('app.import.done', 'hello-web', {
          app: 'hello-web',
          version: '1.0.0',
          source: '/media/usb/a.bvc',
          signed: true,
          warning: null,
        }),
      ),
    ).toEqual({});
  });

  it("ends a bundle's progress when it is installed, even after a late progress event, so the next install starts afresh", () => {
    const source = '/media/usb/a.bvc';
    const key = `bundle:${source}`;
    let progress: ProgressMap = {};
    progress = progressAfter(progress, event('app.importing', source, { source }));
    progress = progressAfter(
      progress,
      event('app.import.progress', source, { source, receivedBytes: 300, totalBytes: 400 }),
    );
    // The install's answer came first and its entry was dropped; a progress event still on the stream re-adds it.
    const { [key]: _dropped, ...afterAnswer } = progress;
    progress = progressAfter(
      afterAnswer,
      event('app.import.progress', source, {
        source,
        receivedBytes: 400,
        totalBytes: 400,
        staged: true,
      }),
    );
    expect(percentDone(progress[key]!)).toBe(100);
    // The install's end names its source and clears it.
    progress = progressAfter(
      progress,
      event('app.import.done', source, {
        app: 'hello-web',
        version: '1.0.0',
        signed: true,
        warning: null,
        source,
      }),
    );
    expect(progress).toEqual({});
    // The same source again starts at nothing.
    progress = progressAfter(progress, event('app.importing', source, { source }));
    expect(percentDone(progress[key]!)).toBeNull();
    expect(progress[key]!.receivedBytes).toBe(0);
  });
});

describe('box page formatting', () => {
  it('says uptime in its two largest units', () => {
    expect(formatUptime(42)).toBe('42 s');
    expect(formatUptime(125)).toBe('2 min');
    expect(formatUptime(5 * 3600 + 12 * 60)).toBe('5 h 12 min');
    expect(formatUptime(3 * 86_400 + 4 * 3600 + 59)).toBe('3 d 4 h');
  });

  it('writes log fields as key=value and names an uploaded image after its file', () => {
    expect(formatFields({ component: 'http', urls: ['http://a'], code: 3 })).toBe(
      'component=http urls=["http://a"] code=3',
    );
    expect(imageNameOf('debian 12 generic.qcow2')).toBe('debian-12-generic');
  });
});

describe('the Box page log as lines arrive', () => {
  const entry = (
    message: string,
    level: LogLine['level'] = 'info',
    time = '2026-11-29T10:00:00.000Z',
  ): LogLine => ({ time, level, message, fields: {} });

  it('puts a new line on top at the level shown, once, and nothing before the log is loaded', () => {
    useBox.setState({ logs: { value: null, error: null }, logLevel: '' });
    useBox.getState().addLogLine(entry('too early'));
    expect(useBox.getState().logs.value).toBeNull();

    useBox.setState({ logs: { value: [entry('older')], error: null }, logLevel: 'warn' });
    useBox.getState().addLogLine(entry('chatter', 'info'));
    useBox.getState().addLogLine(entry('disk nearly full', 'warn'));
    useBox.getState().addLogLine(entry('disk nearly full', 'warn')); // a load answered with it already
    useBox.getState().addLogLine(entry('gone', 'error', '2026-11-29T10:00:01.000Z'));
    expect(useBox.getState().logs.value!.map((line) => line.message)).toEqual([
      'gone',
      'disk nearly full',
      'older',
    ]);
  });
});
