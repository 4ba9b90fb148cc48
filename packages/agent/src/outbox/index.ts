export { DurableOutbox, type OutboxOptions } from './outbox.js';
