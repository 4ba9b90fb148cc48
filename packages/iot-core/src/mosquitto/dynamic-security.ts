import { THING_NAMESPACE_ACL_PATTERNS, isValidThingName } from '@otafleet/protocol';
import { IdentityError } from '../identity/identity-error.js';
import { isValidServiceName, serviceCommonName } from '../identity/principal.js';

/**
 * Mosquitto's dynamic-security plugin in place of an ACL file: it checks a SUBSCRIBE against the client's roles
 * when it arrives, so a device's subscription to another thing's topics is refused (SUBACK 0x87 in MQTT 5, 0x80
 * in 3.1.1), as AWS IoT refuses it, where the ACL file granted it and then delivered nothing. Mosquitto 2.0's
 * plugin does not expand `%u` in ACL topics: each thing gets a role of its own, made from
 * THING_NAMESPACE_ACL_PATTERNS with its name in place of `%u`.
 * See https://mosquitto.org/documentation/dynamic-security/
 */

/** The plugin's command topic and the topic it answers on. */
export const DYNSEC_COMMAND_TOPIC = '$CONTROL/dynamic-security/v1';
export const DYNSEC_RESPONSE_TOPIC = `${DYNSEC_COMMAND_TOPIC}/response`;

export const SERVICE_ROLE = 'otafleet-service';
/** Administers the plugin: only the core's own service identity, which grants and withdraws devices. */
export const DYNSEC_ADMIN_ROLE = 'otafleet-dynsec-admin';
const THING_ROLE_PREFIX = 'otafleet-thing:';
const SHARE_PREFIX = '$share/';

export const thingRoleName = (thingName: string): string => `${THING_ROLE_PREFIX}${thingName}`;

type AclType = 'publishClientSend' | 'publishClientReceive' | 'subscribePattern' | 'unsubscribePattern';

export interface DynsecAcl {
  readonly acltype: AclType;
  readonly topic: string;
  readonly allow: boolean;
  readonly priority?: number;
}

export interface DynsecRole {
  readonly rolename: string;
  readonly acls: readonly DynsecAcl[];
}

export interface DynsecClient {
  readonly username: string;
  readonly roles: readonly { readonly rolename: string }[];
}

/** The plugin's configuration file (`plugin_opt_config_file`), which it also rewrites on every change. */
export interface DynsecConfig {
  readonly defaultACLAccess: Readonly<
    Record<'publishClientSend' | 'publishClientReceive' | 'subscribe' | 'unsubscribe', boolean>
  >;
  readonly clients: readonly DynsecClient[];
  readonly groups: readonly never[];
  readonly roles: readonly DynsecRole[];
}

const allowAll = (topics: readonly string[], types: readonly AclType[]): DynsecAcl[] =>
  topics.flatMap((topic) => types.map((acltype) => ({ acltype, topic, allow: true })));

const READ_WRITE: readonly AclType[] = ['publishClientSend', 'publishClientReceive', 'subscribePattern'];
const READ: readonly AclType[] = ['publishClientReceive', 'subscribePattern'];

/** A device's role: its own `$aws/things/<name>/#` and `dt/<name>/#`, nothing else. */
export function thingRole(thingName: string): DynsecRole {
  if (!isValidThingName(thingName))
    throw new IdentityError('InvalidThingName', `Invalid thing name "${thingName}" for a Mosquitto role.`);
  const own = THING_NAMESPACE_ACL_PATTERNS.map((p) => p.replaceAll('%u', thingName));
  return {
    rolename: thingRoleName(thingName),
    acls: [
      ...allowAll(own, READ_WRITE),
      // The plugin checks a shared subscription's whole filter, `$share/<group>/` included.
      ...allowAll(
        own.map((topic) => `${SHARE_PREFIX}+/${topic}`),
        ['subscribePattern'],
      ),
    ],
  };
}

// `#` alone does not match topics starting with `$`, so `$aws/#` and `$SYS/#` are listed too.
const serviceRole: DynsecRole = {
  rolename: SERVICE_ROLE,
  acls: [...allowAll(['#', '$aws/#'], READ_WRITE), ...allowAll(['$SYS/#'], READ)],
};
const adminRole: DynsecRole = {
  rolename: DYNSEC_ADMIN_ROLE,
  acls: [...allowAll([DYNSEC_COMMAND_TOPIC], ['publishClientSend']), ...allowAll([DYNSEC_RESPONSE_TOPIC], READ)],
};

export const thingClient = (thingName: string): DynsecClient => ({
  username: thingName,
  roles: [{ rolename: thingRoleName(thingName) }],
});

export interface DynsecConfigOptions {
  /** Service names (not CNs) given every topic; their CNs are `svc.<name>`. */
  readonly privilegedServices: readonly string[];
  /** The service that administers the plugin (the core); must be one of `privilegedServices`. */
  readonly adminService?: string;
  /** Things allowed from the start (default none); the core grants and withdraws the others at run time. */
  readonly things?: readonly string[];
}

export function renderDynamicSecurityConfig(options: DynsecConfigOptions): DynsecConfig {
  const services = options.privilegedServices.map((name): DynsecClient => {
    if (!isValidServiceName(name))
      throw new IdentityError('InvalidServiceName', `Invalid service name "${name}" for the Mosquitto configuration.`);
    const roles = [
      { rolename: SERVICE_ROLE },
      ...(name === options.adminService ? [{ rolename: DYNSEC_ADMIN_ROLE }] : []),
    ];
    return { username: serviceCommonName(name), roles };
  });
  const things = [...new Set(options.things ?? [])];
  return {
    // Nothing unless a role allows it; an unknown user name (a device not granted yet) can do nothing.
    defaultACLAccess: { publishClientSend: false, publishClientReceive: false, subscribe: false, unsubscribe: true },
    clients: [...services, ...things.map(thingClient)],
    groups: [],
    roles: [serviceRole, adminRole, ...things.map(thingRole)],
  };
}

/** One command of the plugin's control API. */
export type DynsecCommand =
  | { readonly command: 'createRole'; readonly rolename: string; readonly acls: readonly DynsecAcl[] }
  | {
      readonly command: 'createClient';
      readonly username: string;
      readonly roles: readonly { readonly rolename: string }[];
    }
  | { readonly command: 'deleteClient'; readonly username: string }
  | { readonly command: 'listClients' | 'listRoles'; readonly count: -1 };

/** Lets a thing connect and use its own topics. */
export const grantThingCommands = (thingName: string): DynsecCommand[] => {
  const role = thingRole(thingName);
  return [
    { command: 'createRole', rolename: role.rolename, acls: role.acls },
    { command: 'createClient', ...thingClient(thingName) },
  ];
};

/** Disconnects the thing at once (the plugin kicks a deleted client) and leaves it no topic. */
export const withdrawThingCommands = (thingName: string): DynsecCommand[] => [
  { command: 'deleteClient', username: thingName },
];
