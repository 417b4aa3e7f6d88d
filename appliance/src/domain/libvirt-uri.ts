/**
 * Which libvirt URIs a libvirt cloud may name: the QEMU driver, locally (`qemu:///system`,
 * `qemu:///session`) or on another host over TCP, SSH, TLS or a UNIX socket, and libvirt's test
 * driver (`test:///default`, also served by a daemon) for dry runs; query parameters such as
 * `?socket=` or `?keyfile=` may follow. Pure, so the connector's config schema and the
 * add-a-cloud form apply the same rule and cannot disagree.
 */
export const libvirtUriPattern =
  /^(qemu(\+(tcp|ssh|tls|unix))?:\/\/[A-Za-z0-9.@:_-]*\/(system|session)|test(\+(tcp|unix))?:\/\/[A-Za-z0-9.@:_-]*\/default)(\?[A-Za-z0-9=&%._/-]*)?$/;

/** What is allowed, worded to follow "It …" or a field name. */
export const libvirtUriRule =
  'must be a libvirt URI: qemu:///system, qemu:///session, qemu+tcp|ssh|tls|unix://host/system or test:///default';

/** Does `uri` follow the rule? */
export function isLibvirtUri(uri: string): boolean {
  return libvirtUriPattern.test(uri);
}
