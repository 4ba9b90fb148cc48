export interface AwsIotSdkTransportOptions {
  /** The AWS IoT data endpoint (`xxxx-ats.iot.<region>.amazonaws.com`), or a local broker's host. */
  readonly host: string;
  /** Default 8883. 443 works with AWS IoT Core: the SDK offers ALPN `x-amzn-mqtt-ca` on every mTLS connection. */
  readonly port?: number;
  /** PEM device certificate and private key (mutual TLS). */
  readonly cert: string;
  readonly key: string;
  /** PEM CA to trust for the broker's certificate. Absent: the system trust store (Amazon Root CA for AWS). */
  readonly ca?: string;
  /** TCP connect timeout. Default 10 s. */
  readonly socketTimeoutMs?: number;
}

export type ResolvedSdkOptions = AwsIotSdkTransportOptions & {
  readonly port: number;
  readonly socketTimeoutMs: number;
};
