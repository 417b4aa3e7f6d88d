import sax from 'sax';
import { create } from 'xmlbuilder';
import type { VmOwnership, VmSpec } from '../contract.ts';

/** The namespace of Bivouac's `<metadata>` element in domain XML. */
export const metadataNamespace = 'urn:bivouac:domain:1';

/** Files the connector made for one VM, named in its XML. */
export interface VmFiles {
  /** qcow2 overlay on the base image (disk images only). */
  overlay: string | null;
  /** NoCloud seed ISO, when the spec asks for one. */
  seed: string | null;
  consoleLog: string;
  /**
   * The VM's context (`key=value` lines, the agent token among them) in a file only the box may
   * read, handed to the guest as the fw_cfg file `opt/bivouac/context`: QEMU's command line names
   * the file, never the token.
   */
  context?: string;
}

/** The fw_cfg name the guest agent reads its context from (/sys/firmware/qemu_fw_cfg/by_name/…). */
export const contextFwCfgName = 'opt/bivouac/context';

/** The context file's text: one `key=value` line each, no value able to start a line of its own. */
export function contextText(context: Record<string, string>): string {
  return Object.entries(context)
    .map(([key, value]) => `${key}=${value.replace(/[\r\n]/g, '')}\n`)
    .join('');
}

/**
 * XML 1.0 cannot carry most control characters at all, escaped or not; drop them so a hostile
 * title cannot make the document invalid. Everything else is escaped by the XML library.
 */
export function xmlSafe(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '');
}

/**
 * A domain title: libvirt refuses one with a newline ("Domain title can't contain newlines"), so
 * every control character (a run title stored before titles were checked, an app's title from a
 * bundle) becomes a space.
 */
export function oneLine(text: string): string {
  return xmlSafe(text.replace(/\p{Cc}+/gu, ' '));
}

/**
 * Domain XML for one spec, built with an XML library (never by concatenation): every
 * user-supplied string is escaped. The context goes in as a fw_cfg file (libvirt 6.5 and later),
 * which the guest's root reads from /sys/firmware/qemu_fw_cfg: unlike SMBIOS OEM strings it
 * appears on no command line, in the host's process list or in the guest's DMI tables.
 */
export function buildDomainXml(spec: VmSpec, files: VmFiles, domainType: 'kvm' | 'qemu'): string {
  const domain = create('domain', { headless: true }).att('type', domainType);
  domain.ele('name').txt(spec.name);
  domain.ele('title').txt(oneLine(spec.title));
  domain.ele('metadata').ele('bivouac:vm', {
    'xmlns:bivouac': metadataNamespace,
    run: xmlSafe(spec.runId),
    instance: xmlSafe(spec.instance),
    owner: xmlSafe(spec.owner),
    ...(spec.network.mode === 'network' && spec.network.address
      ? { address: spec.network.address }
      : {}),
  });
  domain.ele('memory', { unit: 'MiB' }).txt(String(spec.memoryMiB));
  domain.ele('vcpu').txt(String(spec.vcpu));

  if (files.context)
    domain
      .ele('sysinfo', { type: 'fwcfg' })
      .ele('entry', { name: contextFwCfgName, file: files.context });

  const os = domain.ele('os');
  os.ele('type', { arch: 'x86_64', machine: 'pc' }).txt('hvm');
  if (spec.image.kind === 'kernel') {
    os.ele('kernel').txt(spec.image.kernel);
    os.ele('initrd').txt(spec.image.initrd);
    os.ele('cmdline').txt(xmlSafe(spec.image.cmdline));
  } else {
    os.ele('boot', { dev: 'hd' });
  }
  domain.ele('features').ele('acpi');
  if (domainType === 'kvm') domain.ele('cpu', { mode: 'host-passthrough' });
  domain.ele('on_poweroff').txt('destroy');
  domain.ele('on_crash').txt('destroy');

  const devices = domain.ele('devices');
  if (files.overlay) {
    const disk = devices.ele('disk', { type: 'file', device: 'disk' });
    disk.ele('driver', { name: 'qemu', type: 'qcow2' });
    disk.ele('source', { file: files.overlay });
    disk.ele('target', { dev: 'vda', bus: 'virtio' });
  }
  if (files.seed) {
    const cdrom = devices.ele('disk', { type: 'file', device: 'cdrom' });
    cdrom.ele('driver', { name: 'qemu', type: 'raw' });
    cdrom.ele('source', { file: files.seed });
    cdrom.ele('target', { dev: 'hdc', bus: 'ide' });
    cdrom.ele('readonly');
  }
  const nic =
    spec.network.mode === 'user'
      ? devices.ele('interface', { type: 'user' })
      : devices
          .ele('interface', { type: 'network' })
          .ele('source', { network: xmlSafe(spec.network.name) })
          .up();
  if (spec.network.mode === 'network' && spec.network.mac)
    nic.ele('mac', { address: spec.network.mac });
  nic.ele('model', { type: 'virtio' });
  nic.ele('rom', { enabled: 'no' }); // no network boot: skips loading iPXE at every start
  const serial = devices.ele('serial', { type: 'pty' });
  serial.ele('log', { file: files.consoleLog, append: 'off' });
  serial.ele('target', { port: '0' });
  devices.ele('console', { type: 'pty' }).ele('target', { type: 'serial', port: '0' });
  devices.ele('controller', { type: 'usb', model: 'none' });
  devices.ele('memballoon', { model: 'none' });
  return domain.end({ pretty: true, indent: '  ' });
}

/** An element of a parsed document: its namespace, local name and attributes (by local name). */
interface ParsedElement {
  uri: string;
  local: string;
  attributes: Record<string, string>;
}

/** Every element of `xml`, in document order (a strict, namespace-aware parse). */
function elements(xml: string): ParsedElement[] {
  const found: ParsedElement[] = [];
  const parser = sax.parser(true, { xmlns: true });
  parser.onopentag = (tag) => {
    const { uri, local, attributes } = tag as sax.QualifiedTag;
    found.push({
      uri,
      local,
      attributes: Object.fromEntries(
        Object.values(attributes).map((attribute) => [attribute.local, attribute.value]),
      ),
    });
  };
  parser.write(xml).close();
  return found;
}

/** Bivouac's mark in a domain's metadata (null for a foreign domain), as attributes. */
function markOf(xml: string): Record<string, string> | null {
  return (
    elements(xml).find((element) => element.uri === metadataNamespace && element.local === 'vm')
      ?.attributes ?? null
  );
}

/** What Bivouac wrote into a domain's metadata, or null for a foreign domain. */
export function readOwnership(xml: string): VmOwnership | null {
  const { run: runId, instance, owner } = markOf(xml) ?? {};
  return runId && instance && owner ? { runId, instance, owner } : null;
}

/** The fixed address a VM was given on its run's network (none for user networking). */
export function readAddress(xml: string): string | null {
  return markOf(xml)?.address || null;
}

/** Is the VM on user networking, where ports are published by hostfwd? */
export function isUserNetworking(xml: string): boolean {
  return /<interface type=["']user["']/.test(xml);
}

/** Paths of files named in a domain's XML (overlay, seed, console log), for cleanup. */
export function readFiles(xml: string): string[] {
  return elements(xml)
    .filter((element) => element.local === 'source' || element.local === 'log')
    .flatMap((element) => (element.attributes.file ? [element.attributes.file] : []));
}
