// The narrow storage interfaces the Environment API routes depend on (fosite's "storage per
// consumer"). One Kysely implementation serves SQLite and PostgreSQL (kysely-repositories.ts); the
// bytes of media and fonts live behind a BlobStore (blob-store.ts), not in the database.

/** The two kinds of JSON document the Environment API stores. */
export type DocumentKind = 'templates' | 'projects';

/** The two kinds of binary asset the Environment API stores. */
export type AssetKind = 'media' | 'fonts';

/** A JSON document as listed: everything but its content. */
export interface DocumentSummary {
  id: string;
  environmentId: string;
  name: string;
  /** Bytes of the content as stored (UTF-8 JSON). */
  size: number;
  /** Client ID of the integration that created it: a project's owner. */
  createdBy: string;
  updatedBy: string;
  createdAt: number;
  updatedAt: number;
  /** Projects only: the template it was created from (null for templates). */
  templateId: string | null;
  /** Projects only: the owning integration's current name, null once it is deleted (or for templates). */
  ownerName: string | null;
}

/** A JSON document with its content. */
export interface DocumentRecord extends DocumentSummary {
  content: Record<string, unknown>;
}

/** A new document, as inserted. */
export interface NewDocument {
  id: string;
  environmentId: string;
  name: string;
  /** The content, already serialised and size-checked. */
  contentJson: string;
  createdBy: string;
  at: number;
  templateId?: string | null;
}

/** A replacement of a document's name and content. */
export interface DocumentUpdate {
  name: string;
  contentJson: string;
  updatedBy: string;
  at: number;
}

/** One page of a list, oldest first; `nextCursor` is the last id of the page when more follow. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Paging of a list: at most `limit` items after the id `after`. */
export interface PageQuery {
  limit: number;
  after?: string | undefined;
}

/** Templates or projects of an environment. */
export interface DocumentRepository {
  list(environmentId: string, query: PageQuery & { createdBy?: string | undefined }): Promise<Page<DocumentSummary>>;
  get(environmentId: string, id: string): Promise<DocumentRecord | null>;
  insert(document: NewDocument): Promise<DocumentRecord>;
  /** Null when there is no such document. */
  update(environmentId: string, id: string, update: DocumentUpdate): Promise<DocumentRecord | null>;
  /** False when there was no such document. */
  delete(environmentId: string, id: string): Promise<boolean>;
}

/** Metadata of one uploaded file; its bytes are in the BlobStore under `blobKey`. */
export interface AssetRecord {
  id: string;
  environmentId: string;
  kind: AssetKind;
  name: string;
  contentType: string;
  size: number;
  /** SHA-256 of the bytes, lower-case hex. */
  sha256: string;
  blobKey: string;
  createdBy: string;
  createdAt: number;
}

/** Media or fonts of an environment. */
export interface AssetRepository {
  list(environmentId: string, kind: AssetKind, query: PageQuery): Promise<Page<AssetRecord>>;
  get(environmentId: string, kind: AssetKind, id: string): Promise<AssetRecord | null>;
  insert(asset: AssetRecord): Promise<void>;
  /** The deleted record (its blob is the caller's to delete), or null when there was none. */
  delete(environmentId: string, kind: AssetKind, id: string): Promise<AssetRecord | null>;
}

/** What the browser guard needs to know about an environment. */
export interface BrowserSettings {
  /** Origins (`scheme://host[:port]`) allowed to GET media and fonts cross-origin (CORS). */
  allowedOrigins: string[];
  /** Relaxes the rule that a token with a write scope must never be sent from a browser. */
  allowWriteTokensInBrowser: boolean;
}

/** Reads environments as the Environment API sees them. */
export interface EnvironmentRepository {
  /** The environment's browser settings (defaults when never set), or null when it does not exist. */
  findBrowserSettings(environmentId: string): Promise<BrowserSettings | null>;
}

/** Everything the Environment API stores in the database. */
export interface EnvironmentApiStorage {
  templates: DocumentRepository;
  projects: DocumentRepository;
  assets: AssetRepository;
  environments: EnvironmentRepository;
}
