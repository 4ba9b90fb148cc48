export type IdentityErrorCode =
  | 'InvalidThingName'
  | 'InvalidServiceName'
  | 'InvalidHost'
  | 'InvalidPath'
  | 'CaAlreadyExists'
  | 'CaNotFound'
  | 'CaKeyUnsupported'
  | 'CertificateNotFound'
  | 'CertificateRevoked'
  | 'DynamicSecurityPluginNotFound';

/** A failure of the local CA tool, with a stable code for tests and exit codes and a message saying what to do. */
export class IdentityError extends Error {
  override readonly name = 'IdentityError';
  constructor(
    readonly code: IdentityErrorCode,
    message: string,
  ) {
    super(message);
  }
}
