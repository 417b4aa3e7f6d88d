import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PublisherKey, TrustedPublisher } from '../domain/apps.ts';
import { BivouacError } from '../errors.ts';
import type { MainDocument } from '../store/document.ts';
import type { Store } from '../store/store.ts';
import type { AppEvents } from './app-events.ts';
import { newSigningKey, type SigningKey } from './bundle.ts';

/** The name the box's own key is trusted under when the box first makes it. */
const boxKeyName = 'This box';

/**
 * Trust: the publisher keys the box believes (each for the app ids it may sign), whether unsigned
 * bundles are allowed, and the box's own key, which signs what the box publishes and exports.
 */
export class Publishers {
  constructor(
    private readonly store: Store<MainDocument>,
    private readonly events: AppEvents,
    /** `<dataDir>/apps`; the box's key is kept beside it. */
    private readonly directory: string,
    private readonly now: () => Date,
  ) {}

  publishers(): readonly TrustedPublisher[] {
    return this.store.data.publishers;
  }

  /**
   * Trusts a key to sign the apps whose ids `appIds` covers, shown under `name`; trusting a key
   * again replaces its name and app ids. Apps already bound to the key stay bound to it.
   */
  async trust(
    name: string,
    key: PublisherKey,
    appIds: readonly string[],
  ): Promise<TrustedPublisher> {
    const publisher: TrustedPublisher = {
      keyId: key.keyId,
      publicKey: key.publicKey,
      name,
      appIds: [...new Set(appIds)],
      addedAt: this.now().toISOString(),
    };
    await this.store.update((document) => {
      document.publishers = [
        ...document.publishers.filter((candidate) => candidate.keyId !== key.keyId),
        publisher,
      ];
    });
    this.events.announceTrust('publisher.trusted', key.keyId, { name, appIds: publisher.appIds });
    return publisher;
  }

  async distrust(keyId: string): Promise<void> {
    const removed = await this.store.update((document) => {
      const before = document.publishers.length;
      document.publishers = document.publishers.filter((candidate) => candidate.keyId !== keyId);
      return before !== document.publishers.length;
    });
    if (!removed)
      throw new BivouacError('NOT_FOUND', `No trusted publisher ${keyId}.`, {
        resource: 'publisher',
        id: keyId,
      });
    this.events.announceTrust('publisher.distrusted', keyId, {});
  }

  get allowUnsigned(): boolean {
    return this.store.data.settings.allowUnsignedBundles;
  }

  async setAllowUnsigned(allow: boolean): Promise<void> {
    await this.store.update((document) => {
      document.settings.allowUnsignedBundles = allow;
    });
    this.events.announceTrust('settings.bundles', 'bundles', { allowUnsigned: allow });
  }

  /** The box's own publisher key (made on first use), which it trusts and signs exports with. */
  async signingKey(): Promise<SigningKey> {
    const path = join(this.directory, '..', 'publisher-key.json');
    const existing = await readFile(path, 'utf8').catch(() => null);
    if (existing) return JSON.parse(existing) as SigningKey;
    const key = newSigningKey();
    await writeFile(path, JSON.stringify(key), { mode: 0o600, flag: 'wx' }).catch(
      async () => undefined,
    );
    const kept = JSON.parse(await readFile(path, 'utf8')) as SigningKey;
    // It signs the shipped catalog and this box's exports, whatever their app ids.
    if (!this.publishers().some((publisher) => publisher.keyId === kept.keyId))
      await this.trust(boxKeyName, kept, ['*']);
    return kept;
  }

  /** The box's own key as it is trusted: its key id and the name its apps show. */
  async boxPublisher(): Promise<{ key: SigningKey; name: string }> {
    const key = await this.signingKey();
    return {
      key,
      name:
        this.publishers().find((publisher) => publisher.keyId === key.keyId)?.name ?? boxKeyName,
    };
  }
}
