/**
 * A flat copy of `s`. V8 keeps a string built by concatenation (path.join, template literals, hex formatting) as a
 * tree of its pieces, about 32 bytes a piece; each virtual device holds a handful (its paths, its boot id) for as
 * long as it runs, about 2 kB of its heap. One copy at creation costs less than that.
 */
export const flatString = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');
