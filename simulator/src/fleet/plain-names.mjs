// `node --import tsx --import ./plain-names.mjs`: registers plain-names-hooks.mjs after tsx, so its load runs first.
import { register } from 'node:module';

register('./plain-names-hooks.mjs', import.meta.url);
