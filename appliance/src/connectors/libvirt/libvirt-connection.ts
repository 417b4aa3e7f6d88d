import { Hypervisor, type Domain } from '@unraid/libvirt';
import { BivouacError } from '../../errors.ts';
import { isConnectionError, toTypedError, withTimeout } from './call.ts';

export interface ConnectionOptions {
  uri: string;
  /** Every call's limit. */
  timeoutMs: number;
  /** Reconnection backoff bounds. */
  minBackoffMs?: number | undefined;
  maxBackoffMs?: number | undefined;
}

/**
 * One libvirt connection, opened on first use. Every call has a timeout; a broken connection is
 * dropped and re-opened on the next call, no sooner than an exponential backoff allows.
 */
export class LibvirtConnection {
  private hypervisor: Hypervisor | null = null;
  private opening: Promise<Hypervisor> | null = null;
  private failures = 0;
  private retryAt = 0;
  private lastError = '';
  /** The message of the failure that started the current wait, repeated while it lasts. */
  private lastFailure = '';

  constructor(private readonly options: ConnectionOptions) {}

  /** The last connection error, for the clouds list. */
  get lastConnectionError(): string | null {
    return this.lastError || null;
  }

  /** Runs `work` on the connection within the time limit; failures come back typed. */
  async call<T>(
    what: string,
    work: (hypervisor: Hypervisor) => Promise<T>,
    nativeId?: string,
  ): Promise<T> {
    const { uri, timeoutMs } = this.options;
    const hypervisor = await this.connection();
    try {
      return await withTimeout(work(hypervisor), timeoutMs, uri, what);
    } catch (error) {
      // What reads like a lost connection may be the daemon's own trouble (virtlogd down): if the
      // daemon still answers, the connection is kept and the failure is its refusal.
      const connected = isConnectionError(error) && (await this.answers(hypervisor));
      const typed = toTypedError(error, uri, what, nativeId, connected);
      // A connection another call has opened since is not this failure's to drop.
      if (typed.code === 'CLOUD_UNREACHABLE' && this.hypervisor === hypervisor) this.drop(typed);
      throw typed;
    }
  }

  /** The domain, or null when it does not exist. */
  async lookup(name: string): Promise<Domain | null> {
    try {
      return await this.call('look up', (h) => h.domainLookupByName(name), name);
    } catch (error) {
      if (error instanceof BivouacError && error.code === 'VM_NOT_FOUND') return null;
      throw error;
    }
  }

  async close(): Promise<void> {
    const hypervisor = this.hypervisor;
    this.hypervisor = null;
    if (hypervisor)
      await withTimeout(hypervisor.connectClose(), 5000, this.options.uri, 'close').catch(
        () => undefined,
      );
  }

  /** Does the daemon answer on this connection, within a short while? */
  private async answers(hypervisor: Hypervisor): Promise<boolean> {
    try {
      await withTimeout(
        hypervisor.connectGetHostname(),
        Math.min(this.options.timeoutMs, 2000),
        this.options.uri,
        'ping',
      );
      return true;
    } catch {
      return false;
    }
  }

  private async connection(): Promise<Hypervisor> {
    if (this.hypervisor) return this.hypervisor;
    if (this.opening) return this.opening;
    const { uri, timeoutMs } = this.options;
    const waitMs = this.retryAt - Date.now();
    if (waitMs > 0) {
      // The failure's own words, not a countdown: a health check sees one outage, not a new error each time.
      throw new BivouacError('CLOUD_UNREACHABLE', this.lastFailure, {
        cloud: uri,
        reason: this.lastError,
        retryInMs: waitMs,
      });
    }
    this.opening = (async () => {
      const hypervisor = new Hypervisor({ uri });
      try {
        await withTimeout(hypervisor.connectOpen(), timeoutMs, uri, 'connect');
      } catch (error) {
        const typed = toTypedError(error, uri, 'connect');
        this.drop(typed);
        throw typed;
      }
      this.failures = 0;
      this.lastError = '';
      this.lastFailure = '';
      this.hypervisor = hypervisor;
      return hypervisor;
    })().finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  private drop(failure: BivouacError): void {
    this.hypervisor = null;
    this.failures += 1;
    this.lastError =
      typeof failure.details.reason === 'string' ? failure.details.reason : failure.message;
    this.lastFailure = failure.message;
    const min = this.options.minBackoffMs ?? 500;
    const max = this.options.maxBackoffMs ?? 30_000;
    this.retryAt = Date.now() + Math.min(max, min * 2 ** (this.failures - 1));
  }
}
