import { isIP } from 'node:net';
import { connect } from 'node:tls';
import type { StreamOpener } from './link.js';

/** Realism mode: each connection attempt is a real mutual-TLS socket to the broker's URL (mqtts://host:port). */
export function tlsOpener(
  url: string,
  /** Absent: Node's root CAs. */
  ca: string | undefined,
  credentialsOf: (thingName: string) => { readonly cert: string; readonly key: string },
): StreamOpener {
  const u = new URL(url);
  if (u.protocol !== 'mqtts:') throw new Error(`realism mode needs an mqtts:// URL (got ${url})`);
  const port = Number(u.port === '' ? 8883 : u.port);
  return (thingName) => {
    const { cert, key } = credentialsOf(thingName);
    // SNI only for a host name (RFC 6066 allows no IP address there).
    return connect({
      host: u.hostname,
      port,
      ...(ca === undefined ? {} : { ca }),
      cert,
      key,
      ...(isIP(u.hostname) === 0 ? { servername: u.hostname } : {}),
    });
  };
}
