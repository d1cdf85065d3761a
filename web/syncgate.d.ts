// Type declarations for syncgate.js, the syncgate client library.

/** A version vector: actor -> count of that actor's edits (missing = 0). */
export type Version = Record<string, number>;

/** A document as the gateway stores and sends it. */
export interface Doc<T = unknown> {
  collection: string;
  id: string;
  /** The document's data; null for a tombstone. */
  data: T | null;
  deleted: boolean;
  version: Version;
  /** The actor whose edit this state is. */
  actor: string;
  /** Edit time in ms since the epoch. */
  timestamp: number;
  /** The change that produced this state ("<epoch>:<seq>"); absent while only local. */
  offset?: string;
  /** True while the state is a local edit the gateway has not acknowledged. */
  pending?: boolean;
}

/** Connection state. */
export type Status = 'connecting' | 'online' | 'offline';

/** A conflict the gateway settled (an entry of the collection's conflict trail). */
export interface ConflictEvent<T = unknown> {
  collection: string;
  id: string;
  policy: 'lww' | 'callback' | 'reject';
  /** Who won: the write that arrived, the stored state, or the app's resolver. */
  winner: 'incoming' | 'stored' | 'resolver';
  /** Whether the settlement stored a change. */
  applied: boolean;
  /** The state that was stored when the write arrived. */
  stored: Omit<Doc<T>, 'collection' | 'id'> | null;
  /** The write that conflicted with it. */
  incoming: Omit<Doc<T>, 'collection' | 'id'>;
  /** The resolver's reply on a callback collection. */
  resolver?: { status: number; ms: number; answer: { data: T | null; deleted: boolean } | null };
  /** Set when a resolver failed and the fallback policy decided. */
  fallback?: 'lww' | 'reject';
  reason?: string;
  /** True when the incoming write was this device's own. */
  mine: boolean;
  /** On a refused own write (reject): whether the collection's merge wrote a merged version. */
  merged?: boolean;
  /** The state the document has after the settlement (as this client now sees it). */
  result: Doc<T> | null;
  trail_id?: string;
  offset?: string;
}

/** The error events and rejected promises carry. */
export declare class SyncGateError extends Error {
  constructor(code: string, message: string, extra?: { status?: number; collection?: string; id?: string });
  /** The gateway's error code (`forbidden`, `unauthorized`, ...) or a client one (`network`, `closed`, `policy`). */
  code: string;
  /** HTTP status or WebSocket close code, when there was one. */
  status?: number;
  collection?: string;
  id?: string;
}

/** What a write's promise resolves to. */
export interface WriteResult<T = unknown> {
  /** True when the write waits in the offline queue (the gateway has not answered yet). */
  queued: boolean;
  /** Whether the gateway stored this write's data (false when it lost a conflict or was already applied). */
  applied: boolean;
  /** The document as the gateway answered it (the local state when queued). */
  doc: Doc<T> | null;
  /** Present when the gateway settled a conflict for this write. */
  conflict?: { policy: string; winner: string; fallback?: string; reason?: string };
}

/**
 * Where the library keeps its local copy, the offline queue and the device
 * id. Values are JSON-compatible. All methods may return promises.
 */
export interface Storage {
  get(key: string): unknown | Promise<unknown>;
  set(key: string, value: unknown): void | Promise<void>;
  delete(key: string): void | Promise<void>;
  /** Every key that starts with prefix. */
  keys(prefix: string): string[] | Promise<string[]>;
}

/** The string key-value store React Native's AsyncStorage (and localStorage-like stores) offer. */
export interface StringStore {
  getItem(key: string): string | null | Promise<string | null>;
  setItem(key: string, value: string): void | Promise<void>;
  removeItem(key: string): void | Promise<void>;
  getAllKeys(): readonly string[] | Promise<readonly string[]>;
}

export interface SyncGateOptions {
  /** The gateway's HTTP base URL, e.g. "https://sync.example.com". Default: the page's origin. */
  url?: string;
  /** Returns a JWT (or null with auth off). Called at start, before the token expires, and on 401 / close 4001. */
  getToken?: () => string | null | Promise<string | null>;
  /** 'indexeddb' (default where available), 'memory', or a Storage of the app's own. */
  storage?: 'indexeddb' | 'memory' | Storage;
  /** The WebSocket constructor (Node 20 has none: pass the `ws` package's). Default: globalThis.WebSocket. */
  WebSocket?: unknown;
  /** The fetch function. Default: globalThis.fetch. */
  fetch?: typeof fetch;
  /** The device part of the actor id; default: a random id kept in storage. */
  device?: string;
  /** Namespace for storage keys and locks (several apps on one origin). Default "syncgate". */
  name?: string;
  /** Reconnect backoff: full jitter between 0 and min(maxMs, minMs * 2^attempt). Default 500 / 15000. */
  backoff?: { minMs?: number; maxMs?: number };
  /** Ping interval; a socket silent for this long after a ping is considered dead. Default 15000. */
  heartbeatMs?: number;
  /** An HTTP request without an answer for this long is given up (a write is sent again later, same key). Default 30000. */
  requestTimeoutMs?: number;
  /** Start offline (no socket, writes queue) until goOnline(). Default false. */
  offline?: boolean;
}

export interface CollectionOptions<T = unknown> {
  /**
   * On a `reject` collection: called with this client's data and the stored
   * document when the gateway refused a write (409 conflict). Return the merged
   * data to write it on top of the stored state, or undefined to keep the
   * stored state. Without it the refusal is reported through `conflict`.
   */
  merge?: (mine: { data: T | null; deleted: boolean }, stored: Doc<T>) => T | null | undefined | Promise<T | null | undefined>;
}

/** What a change listener receives. */
export interface ChangeEvent<T = unknown> {
  collection: string;
  id: string;
  /** The new local state (null when the document is gone from the local copy). */
  doc: Doc<T> | null;
  /** 'local' for this client's own edits, 'remote' for the gateway's changes, 'load' for (re)loads. */
  source: 'local' | 'remote' | 'load' | 'rollback';
}

export type ClientEvents = {
  status: (status: Status, detail: { node?: string; code?: number; reason?: string }) => void;
  change: (ev: ChangeEvent) => void;
  conflict: (ev: ConflictEvent) => void;
  reset: (ev: { collection: string; reason: string; offset: string }) => void;
  error: (err: SyncGateError) => void;
};

export declare class Collection<T = unknown> {
  readonly name: string;
  /** Calls cb with the current documents at once (Map id -> Doc, no tombstones), then after every change. Returns an unsubscribe function. */
  subscribe(cb: (docs: Map<string, Doc<T>>, change: ChangeEvent<T> | null) => void): () => void;
  /** The local state of one document (undefined when absent or deleted). */
  get(id: string): Doc<T> | undefined;
  /** The local documents, tombstones left out. */
  docs(): Doc<T>[];
  /** Writes data; the local copy changes at once. */
  put(id: string, data: T): Promise<WriteResult<T>>;
  /** Deletes; the local copy changes at once. */
  delete(id: string): Promise<WriteResult<T>>;
  /** Resolves once the collection's first load (from storage or the gateway) is done. */
  ready(): Promise<void>;
  /** Number of writes of this collection waiting for the gateway. */
  pendingCount(): number;
  /** Listens to events of this collection only; returns the remover. */
  on<K extends keyof ClientEvents>(name: K, fn: ClientEvents[K]): () => void;
}

export declare class SyncGate {
  constructor(options?: SyncGateOptions);
  /** The collection (created on first use; options apply on first use). */
  collection<T = unknown>(name: string, options?: CollectionOptions<T>): Collection<T>;
  /** Listens to events of every collection; returns the remover. */
  on<K extends keyof ClientEvents>(name: K, fn: ClientEvents[K]): () => void;
  /** The connection state now. */
  readonly status: Status;
  /** This client's actor id ("<sub>:<device>.<tab>"), known once a token was read. */
  readonly actor: string | null;
  /** The node id of the gateway the socket is connected to. */
  readonly node: string | null;
  /** Cuts the socket and stops writing to the gateway; writes queue until goOnline(). */
  goOffline(): void;
  /** Reconnects after goOffline(). */
  goOnline(): void;
  /** Resolves when every queued write was answered (or rejects after timeoutMs). */
  flush(timeoutMs?: number): Promise<void>;
  /** Closes the socket and stops all timers; the queue stays in storage. */
  close(): void;
}

/** The library's version. */
export declare const VERSION: string;

/** Version-vector helpers the library uses. */
export declare function compareVersions(a: Version, b: Version): 'equal' | 'dominates' | 'dominated' | 'concurrent';
export declare function mergeVersions(a: Version, b: Version): Version;
export declare function memoryStorage(): Storage;
export declare function indexedDBStorage(dbName?: string): Storage;
export declare function stringStorage(store: StringStore, prefix?: string): Storage;
