/**
 * AWS IoT thing names (also thing group names): 1–128 characters of `[a-zA-Z0-9:_-]`. One rule for topics,
 * certificates, the registry and every payload that carries a thing name.
 * https://docs.aws.amazon.com/iot/latest/apireference/API_CreateThing.html
 */
export const THING_NAME_PATTERN_SOURCE = '^[a-zA-Z0-9:_-]{1,128}$';
export const THING_NAME_PATTERN = new RegExp(THING_NAME_PATTERN_SOURCE);
export const isValidThingName = (name: string): boolean => THING_NAME_PATTERN.test(name);
