/** One shadow as fleet indexing sees it: its desired and reported sections (delta is derived from them). */
export interface IndexedShadow {
  readonly reported?: unknown;
  readonly desired?: unknown;
}

/** Connectivity as AWS indexes it (`thingConnectivityIndexingMode: STATUS`); `timestamp` is epoch milliseconds. */
export interface IndexedConnectivity {
  readonly connected: boolean;
  readonly timestamp?: number;
  readonly disconnectReason?: string;
}

/**
 * A thing as the fleet index holds it: registry data, the classic and named shadows, connectivity. What the
 * registry, the shadow service and the broker know about one thing, gathered so a query can be answered from
 * this alone.
 */
export interface IndexedThing {
  readonly thingName: string;
  readonly thingTypeName?: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly thingGroupNames: readonly string[];
  readonly shadow?: IndexedShadow;
  readonly namedShadows?: Readonly<Record<string, IndexedShadow>>;
  readonly connectivity?: IndexedConnectivity;
}
