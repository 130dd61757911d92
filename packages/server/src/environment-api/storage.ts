// The narrow storage interfaces the Environment API routes depend on (fosite's "storage per
// consumer"). One Kysely implementation serves SQLite and PostgreSQL
// (storage/repositories/environment-api.ts, where the record shapes live next to their tables); the
// bytes of media and fonts live behind a BlobStore (blob-store.ts), not in the database.

import type { DocumentKind, AssetKind, DocumentSummary, DocumentRecord, NewDocument, DocumentUpdate, Page, PageQuery, AssetRecord, BrowserSettings } from '../storage/repositories/environment-api.ts';

export type { DocumentKind, AssetKind, DocumentSummary, DocumentRecord, NewDocument, DocumentUpdate, Page, PageQuery, AssetRecord, BrowserSettings };

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

/** Media or fonts of an environment. */
export interface AssetRepository {
  list(environmentId: string, kind: AssetKind, query: PageQuery): Promise<Page<AssetRecord>>;
  get(environmentId: string, kind: AssetKind, id: string): Promise<AssetRecord | null>;
  insert(asset: AssetRecord): Promise<void>;
  /** The deleted record (its blob is the caller's to delete), or null when there was none. */
  delete(environmentId: string, kind: AssetKind, id: string): Promise<AssetRecord | null>;
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
