/**
 * The bundle format: one tar file (gzip-compressed or not) holding `manifest.yaml`, the app's
 * modules, its icon and screenshots, optional base images, and two files that make it
 * trustworthy: `CHECKSUMS` (a sha256 and a path per line, for every other file) and
 * `SIGNATURE` (JSON: the publisher's key id and an ed25519 signature of CHECKSUMS). CHECKSUMS,
 * SIGNATURE and manifest.yaml are the first entries, in that order, so that a bundle is judged
 * before anything of it reaches the disk. A bundle is only believed once every file matches
 * CHECKSUMS exactly — nothing missing, nothing extra — and the signature is by a trusted
 * publisher.
 *
 * Its parts: the format's names and checks (bundle-format.ts), keys and signatures
 * (bundle-signature.ts), reading and judging a bundle (bundle-reader.ts), writing one
 * (bundle-writer.ts). Import them from here.
 */
export {
  checksumsFile,
  defaultLimits,
  manifestFile,
  parseChecksums,
  signatureFile,
  type BundleLimits,
} from './bundle-format.ts';
export { newSigningKey, publisherKey, type SigningKey, type Verdict } from './bundle-signature.ts';
export {
  readBundle,
  type BundleHead,
  type ReadBundle,
  type ReadBundleOptions,
  type StagedFile,
} from './bundle-reader.ts';
export { writeBundle, type BundleEntry } from './bundle-writer.ts';
