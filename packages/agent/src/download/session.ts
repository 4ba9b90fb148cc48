import type { Logger } from 'pino';
import { parseRetryAfter, retryDelayMs } from './backoff.js';
import { sleep } from './clock.js';
import { asDownloadError, DownloadError, localIoError } from './errors.js';
import { BodyReader, HttpGet, readErrorBody } from './http-get.js';
import { awsErrorSummary, planResponse } from './http-response.js';
import { canceled, interruption, untilInterrupted } from './interrupt.js';
import { parseBundleUrl, type ResolvedDownloadOptions } from './options.js';
import type { PartialFile } from './partial-file.js';
import { TokenBucket } from './rate-limiter.js';

const MAX_REDIRECTS = 5;
const USER_AGENT = 'otafleet-agent';

/** Certificate failures: a wrong pin or a bad store certificate is configuration, not weather: DOWNLOAD_REFUSED. */
const TLS_CERTIFICATE_ERRORS =
  /^(CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH)/;

/** What the next network step produced. */
export type NetworkStep = Uint8Array | 'restarted' | null;

/**
 * The network half of a download: one connection at a time, continued with `Range` from the file's end;
 * retries with backoff (the count resets whenever bytes beyond any seen before arrive); fresh URLs when the
 * old one expired; restarts from byte 0 when the server cannot continue; and the durability schedule
 * (fdatasync, then save the offset, in the background every `syncEveryBytes`).
 */
export class DownloadSession {
  private url: URL;
  private body: BodyReader | null = null;
  private current: HttpGet | null = null;
  /** Set by a 416 / wrong Content-Range: the next request asks for the whole file. */
  private fetchWhole = false;
  private rangeRestarts = 0;
  /** The furthest offset reached in this run: only bytes beyond it count as progress. */
  private highWater: number;
  private failures = 0;
  private highWaterAtFailure: number;
  private refreshes = 0;
  private highWaterAtRefresh: number;
  private syncing: Promise<void> | null = null;
  private syncFailure: DownloadError | undefined = undefined;
  private syncStartedAt: number;
  private lastProgressAt = Number.NEGATIVE_INFINITY;
  private readonly limiter: TokenBucket | null;
  private readonly log: Logger;
  private readonly onAbort = (): void => {
    const reason = new Error('download canceled');
    this.current?.abort(reason);
    this.body?.destroy(reason);
  };

  /** Bumped at every restart from byte 0: a reader that already handed bytes on must start over. */
  epoch = 0;
  completed = false;
  requests = 0;
  networkBytes = 0;
  restartsFromZero = 0;
  urlRefreshes = 0;

  constructor(
    private readonly o: ResolvedDownloadOptions,
    readonly file: PartialFile,
  ) {
    this.url = o.url;
    this.highWater = this.highWaterAtFailure = this.highWaterAtRefresh = this.syncStartedAt = file.length;
    this.limiter =
      o.maxBandwidthBytesPerSecond === undefined ? null : new TokenBucket(o.maxBandwidthBytesPerSecond, o.clock);
    this.log = o.logger.child({ partialPath: o.partialPath });
    o.interrupt?.addEventListener('abort', this.onAbort, { once: true });
  }

  get offset(): number {
    return this.file.length;
  }

  /** Opens a body that continues at `offset` unless one is open or the file is complete. See `connect`. */
  async ensureConnected(): Promise<boolean> {
    if (this.body !== null || this.offset === this.o.expectedSize) return false;
    return this.connect();
  }

  /** The next chunk from the network (already queued to the file), 'restarted', or null when the file is complete. */
  async next(): Promise<NetworkStep> {
    for (;;) {
      this.throwIfFailed();
      if (this.body === null) {
        if (this.offset === this.o.expectedSize) return null;
        if (await this.connect()) return 'restarted';
        continue;
      }
      let chunk: Buffer | null;
      try {
        chunk = await this.body.next();
      } catch (e) {
        this.body = null;
        this.throwIfAborted();
        await this.failed(e);
        continue;
      }
      if (chunk === null) {
        this.body = null;
        await this.failed(new Error(`the body ended at byte ${this.offset} of ${this.o.expectedSize}`));
        continue;
      }
      if (chunk.byteLength === 0) continue;
      if (this.offset + chunk.byteLength > this.o.expectedSize) {
        this.dropBody();
        throw tooManyBytes(this.o.expectedSize);
      }
      await this.file.append(chunk);
      this.networkBytes += chunk.byteLength;
      this.highWater = Math.max(this.highWater, this.offset);
      this.maybeStartSync();
      this.reportProgress(false);
      if (this.limiter !== null) await this.wait(this.limiter.take(chunk.byteLength));
      if (this.offset === this.o.expectedSize) await this.expectEndOfBody();
      return chunk;
    }
  }

  /** The whole file is in: check its digest, make it durable, save the final offset. */
  async complete(sha256: string): Promise<void> {
    if (sha256 !== this.o.expectedSha256) {
      throw new DownloadError(
        'DOWNLOAD_DIGEST_MISMATCH',
        `the file's SHA-256 is ${sha256}, the job says ${this.o.expectedSha256}`,
      );
    }
    await this.settle();
    this.throwIfFailed();
    await this.saveOffset(await this.file.sync());
    this.completed = true;
    this.reportProgress(true);
  }

  /** Waits for a background sync + save, so nothing saves an offset after this. */
  async settle(): Promise<void> {
    await this.syncing;
  }

  dispose(): void {
    this.o.interrupt?.removeEventListener('abort', this.onAbort);
    this.dropBody();
    this.current?.abort(new Error('download finished'));
  }

  throwIfAborted(): void {
    const error = interruption(this.o);
    if (error !== null) throw error;
  }

  /**
   * Sends GET (with Range unless at byte 0) until a body continuing the file is open. Returns true when
   * the file had to be cut back to byte 0 (the server ignored Range, or could not continue at our offset).
   */
  private async connect(): Promise<boolean> {
    let url = this.url;
    let redirects = 0;
    for (;;) {
      this.throwIfAborted();
      const from = this.fetchWhole ? 0 : this.offset;
      const headers: Record<string, string> = { 'user-agent': USER_AGENT, 'accept-encoding': 'identity' };
      if (from > 0) headers.range = `bytes=${from}-`;
      this.requests += 1;
      this.log.debug({ host: url.host, from, request: this.requests }, 'requesting bundle');
      const get = new HttpGet(url, headers, this.o.tls, this.o.idleTimeoutMs);
      this.current = get;
      let res;
      try {
        res = await get.response;
      } catch (e) {
        this.throwIfAborted();
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== undefined && TLS_CERTIFICATE_ERRORS.test(code)) {
          throw new DownloadError('DOWNLOAD_REFUSED', `TLS to ${url.host} refused: ${(e as Error).message}`, {
            cause: e,
          });
        }
        await this.failed(e);
        url = this.url;
        continue;
      } finally {
        this.current = null;
      }
      const status = res.statusCode ?? 0;
      const plan = planResponse(status, res.headers, from, this.o.expectedSize);
      switch (plan.kind) {
        case 'body': {
          let restarted = false;
          if (plan.start !== this.offset) {
            this.log.info({ offset: this.offset, status }, 'server sends the file from byte 0: starting over');
            await this.restartFromZero();
            restarted = true;
          }
          this.fetchWhole = false;
          this.body = new BodyReader(res, this.o.idleTimeoutMs);
          return restarted;
        }
        case 'restart-from-zero':
          res.destroy();
          if (from === 0 || this.rangeRestarts >= 1) {
            throw new DownloadError('DOWNLOAD_FAILED', `the server cannot serve the file consistently: ${plan.why}`);
          }
          this.rangeRestarts += 1;
          this.fetchWhole = true;
          this.log.warn({ why: plan.why }, 'cannot continue at the offset: fetching the whole file');
          continue;
        case 'size-mismatch':
          res.destroy();
          throw new DownloadError('DOWNLOAD_SIZE_MISMATCH', plan.why);
        case 'refused': {
          const body = await readErrorBody(res);
          if (!this.o.isExpiredUrl(status, body)) {
            throw new DownloadError('DOWNLOAD_REFUSED', `HTTP ${status}: ${awsErrorSummary(body)}`);
          }
          await this.refresh(status, body);
          url = this.url;
          continue;
        }
        case 'redirect': {
          res.destroy();
          const next = new URL(plan.location, url);
          if (++redirects > MAX_REDIRECTS) {
            throw new DownloadError('DOWNLOAD_REFUSED', `more than ${MAX_REDIRECTS} redirects`);
          }
          if (url.protocol === 'https:' && next.protocol !== 'https:') {
            throw new DownloadError('DOWNLOAD_REFUSED', `refusing a redirect from https to ${next.protocol}`);
          }
          url = parseBundleUrl(next.href, 'redirect Location', 'DOWNLOAD_REFUSED');
          continue;
        }
        case 'transient':
          res.destroy();
          await this.failed(new Error(plan.why), parseRetryAfter(plan.retryAfter, Date.now()));
          url = this.url;
          continue;
        case 'fatal':
          res.destroy();
          throw new DownloadError('DOWNLOAD_REFUSED', `${plan.why} from ${url.host}`);
        default:
          return assertNever(plan);
      }
    }
  }

  /**
   * A failed attempt: back off and retry, or give up after maxRetries + 1 failures in a row that brought
   * no byte beyond any seen before (an attempt that did bring new bytes starts the count afresh).
   */
  private async failed(cause: unknown, retryAfterMs?: number): Promise<void> {
    this.throwIfAborted();
    const message = cause instanceof Error ? cause.message : String(cause);
    if (this.highWater > this.highWaterAtFailure) {
      this.highWaterAtFailure = this.highWater;
      this.failures = 0;
    } else {
      this.failures += 1;
      if (this.failures > this.o.maxRetries) {
        throw new DownloadError(
          'DOWNLOAD_FAILED',
          `gave up after ${this.failures} attempts without progress at byte ${this.offset}: ${message}`,
          { cause },
        );
      }
    }
    const delay = retryDelayMs(Math.max(0, this.failures - 1), this.o.backoff, this.o.random, retryAfterMs);
    this.log.warn(
      { err: message, offset: this.offset, failures: this.failures, delayMs: delay },
      'download attempt failed',
    );
    await this.wait(delay);
  }

  private async refresh(status: number, body: string): Promise<void> {
    const summary = `HTTP ${status}: ${awsErrorSummary(body)}`;
    if (this.o.refreshUrl === undefined) {
      throw new DownloadError('DOWNLOAD_URL_EXPIRED', `${summary}, and no way to get a fresh URL`);
    }
    if (this.highWater > this.highWaterAtRefresh) {
      this.refreshes = 0;
      this.highWaterAtRefresh = this.highWater;
    }
    if (this.refreshes >= this.o.maxUrlRefreshes) {
      throw new DownloadError('DOWNLOAD_URL_EXPIRED', `${summary}, after ${this.refreshes} fresh URLs`);
    }
    this.refreshes += 1;
    let fresh: string;
    try {
      fresh = await untilInterrupted(this.o.refreshUrl(), this.o.interrupt);
    } catch (e) {
      this.throwIfAborted();
      throw new DownloadError(
        'DOWNLOAD_URL_EXPIRED',
        `${summary}; getting a fresh URL failed: ${(e as Error).message}`,
        { cause: e },
      );
    }
    this.throwIfAborted();
    this.url = parseBundleUrl(fresh, 'refreshUrl result', 'INVALID_JOB_DOCUMENT');
    this.urlRefreshes += 1;
    this.log.info({ offset: this.offset, status }, 'URL refused as expired: continuing with a fresh one');
  }

  private async restartFromZero(): Promise<void> {
    await this.settle();
    this.throwIfFailed();
    // The offset goes back first: a crash after this point must not trust bytes about to be overwritten.
    await this.saveOffset(0);
    await this.file.truncate(0);
    this.syncStartedAt = 0;
    this.epoch += 1;
    this.restartsFromZero += 1;
  }

  /** After the last expected byte the body must end: more bytes mean this is not the job's file. */
  private async expectEndOfBody(): Promise<void> {
    const body = this.body;
    this.body = null;
    if (body === null) return;
    let extra: Buffer | null = null;
    try {
      extra = await body.next();
    } catch {
      // Every expected byte is in; a connection that breaks now loses nothing.
    } finally {
      body.destroy();
    }
    if (extra !== null && extra.byteLength > 0) throw tooManyBytes(this.o.expectedSize);
  }

  private maybeStartSync(): void {
    if (this.syncing !== null || this.offset - this.syncStartedAt < this.o.syncEveryBytes) return;
    this.syncStartedAt = this.offset;
    this.syncing = (async () => {
      try {
        await this.saveOffset(await this.file.sync());
      } catch (e) {
        this.syncFailure = asDownloadError(e);
      } finally {
        this.syncing = null;
      }
    })();
  }

  private async saveOffset(offset: number): Promise<void> {
    try {
      await this.o.progressStore.save(offset);
    } catch (e) {
      throw localIoError('cannot save the download offset', e);
    }
  }

  private throwIfFailed(): void {
    if (this.syncFailure !== undefined) throw this.syncFailure;
  }

  private reportProgress(force: boolean): void {
    if (this.o.onProgress === undefined) return;
    const now = this.o.clock.now();
    if (!force && now - this.lastProgressAt < this.o.progressIntervalMs) return;
    this.lastProgressAt = now;
    this.o.onProgress(this.offset, this.o.expectedSize);
  }

  private async wait(ms: number): Promise<void> {
    try {
      await sleep(ms, this.o.clock, this.o.interrupt);
    } catch (e) {
      throw interruption(this.o) ?? canceled(e);
    }
  }

  private dropBody(): void {
    this.body?.destroy();
    this.body = null;
  }
}

function tooManyBytes(expectedSize: number): DownloadError {
  return new DownloadError('DOWNLOAD_SIZE_MISMATCH', `the server sends more than the job's ${expectedSize} bytes`);
}

function assertNever(value: never): never {
  throw new Error(`unhandled response plan ${JSON.stringify(value)}`);
}
