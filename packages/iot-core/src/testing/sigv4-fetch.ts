import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';

/** node:crypto as the Checksum the smithy signer expects (a keyed constructor is an HMAC). */
export class NodeSha256 {
  private hash: Hash | Hmac;
  private readonly secret: string | Uint8Array | undefined;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.secret =
      secret === undefined || typeof secret === 'string'
        ? secret
        : secret instanceof ArrayBuffer
          ? new Uint8Array(secret)
          : new Uint8Array(secret.buffer, secret.byteOffset, secret.byteLength);
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(
      typeof data === 'string'
        ? data
        : data instanceof ArrayBuffer
          ? new Uint8Array(data)
          : new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

export interface SignedFetchOptions {
  readonly method: string;
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
  readonly service?: string;
  readonly region?: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly signingDate?: Date;
}

export interface RawResponse {
  readonly status: number;
  readonly errorType: string | null;
  readonly body: string;
}

/** The headers (Authorization, x-amz-date, ...) of a request signed by @smithy/signature-v4, without host. */
export async function signRequest(endpoint: string, o: SignedFetchOptions): Promise<Record<string, string>> {
  const url = new URL(endpoint);
  const signer = new SignatureV4({
    service: o.service ?? 'iot',
    region: o.region ?? 'us-east-1',
    credentials: o.credentials,
    sha256: NodeSha256,
  });
  const body = toBuffer(o.body);
  const signed = await signer.sign(
    {
      method: o.method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: o.path,
      query: { ...o.query },
      headers: {
        host: url.host,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...o.headers,
      },
      ...(body === undefined ? {} : { body }),
    },
    o.signingDate === undefined ? {} : { signingDate: o.signingDate },
  );
  const headers = { ...signed.headers };
  delete headers.host;
  return headers;
}

const toBuffer = (body: string | Buffer | undefined): Buffer | undefined =>
  body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');

export const queryString = (query: Readonly<Record<string, string>> = {}): string => {
  const qs = Object.entries(query)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  return qs === '' ? '' : `?${qs}`;
};

/** A raw HTTP request signed independently of the server's verifier, by @smithy/signature-v4. */
export async function signedFetch(endpoint: string, o: SignedFetchOptions): Promise<RawResponse> {
  const headers = await signRequest(endpoint, o);
  const body = toBuffer(o.body);
  const res = await fetch(`${endpoint}${o.path}${queryString(o.query)}`, {
    method: o.method,
    headers,
    ...(body === undefined ? {} : { body: new Uint8Array(body) }),
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, errorType: res.headers.get('x-amzn-errortype'), body: await res.text() };
}
