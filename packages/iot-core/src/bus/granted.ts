import type { Subscription } from 'aedes';

/** SUBACK 0x80 (refused) is reported in the 'subscribe' event as qos 128, which aedes's types leave out. */
export const isGranted = (s: Subscription): boolean => (s.qos as number) !== 128;
