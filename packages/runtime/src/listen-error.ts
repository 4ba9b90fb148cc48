/** A port a process wanted, with the flag and environment variable that choose it. */
export interface PortSetting {
  readonly port: number;
  readonly flag: string;
  readonly env?: string;
  readonly what: string;
}

/** A listener could not bind: says which setting to change instead of a stack trace. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  readonly code = 'PORT_IN_USE';
  constructor(
    readonly setting: PortSetting,
    readonly host: string,
  ) {
    const via = setting.env === undefined ? setting.flag : `${setting.flag} (or ${setting.env})`;
    super(
      `${setting.what}: port ${setting.port} on ${host} is already in use. Stop what holds it ` +
        `(\`ss -ltnp 'sport = :${setting.port}'\` shows it) or choose another port with ${via}.`,
    );
  }
}

/**
 * Turns a listen failure into PortInUseError when it is EADDRINUSE on one of `settings`' ports; anything else is
 * returned unchanged.
 */
export function explainListenError(e: unknown, settings: readonly PortSetting[], host: string): unknown {
  const err = e as NodeJS.ErrnoException & { port?: number };
  if (err?.code !== 'EADDRINUSE') return e;
  const setting = settings.find((s) => s.port === err.port);
  return setting === undefined ? e : new PortInUseError(setting, host);
}
