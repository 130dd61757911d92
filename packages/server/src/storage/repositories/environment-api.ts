import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import type { AssetsTable, EnvironmentBrowserSettingsTable, ProjectsTable, Schema } from '../schema.ts';

// The Environment API's content (templates, projects, asset metadata, browser settings) over one
// Kysely database: the same queries serve SQLite and PostgreSQL. The record shapes are defined here,
// next to their tables; the Environment API declares the repository interfaces it depends on
// (environment-api/storage.ts) and is handed this implementation by the composition root.

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

/** What the browser guard needs to know about an environment. */
export interface BrowserSettings {
  /** Origins (`scheme://host[:port]`) allowed to GET media and fonts cross-origin (CORS). */
  allowedOrigins: string[];
  /** Relaxes the rule that a token with a write scope must never be sent from a browser. */
  allowWriteTokensInBrowser: boolean;
}

// Templates and projects share one table shape (projects add template_id); this view lets one
// implementation serve both tables with full typing. The table name is never user input.
type DocumentTables = { doc: ProjectsTable } & Record<DocumentKind, ProjectsTable> & { integrations: { client_id: string; name: string } };

const SUMMARY_COLUMNS = ['doc.id', 'doc.environment_id', 'doc.name', 'doc.size', 'doc.created_by', 'doc.updated_by', 'doc.created_at', 'doc.updated_at'] as const;

interface SummaryRow {
  id: string;
  environment_id: string;
  name: string;
  size: number;
  created_by: string;
  updated_by: string;
  created_at: number;
  updated_at: number;
  template_id?: string | null;
  owner_name?: string | null;
}

function toSummary(row: SummaryRow): DocumentSummary {
  return {
    id: row.id,
    environmentId: row.environment_id,
    name: row.name,
    size: Number(row.size),
    createdBy: row.created_by,
    updatedBy: row.updated_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    templateId: row.template_id ?? null,
    ownerName: row.owner_name ?? null,
  };
}

function page<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? items[items.length - 1]!.id : null };
}

/** Templates or projects over Kysely; projects also carry template_id and the owner's name. */
function createDocumentRepository(database: Database, kind: DocumentKind) {
  const db = database.db as unknown as Kysely<DocumentTables>;
  const isProject = kind === 'projects';

  const selectSummaries = () => {
    const base = db.selectFrom(`${kind} as doc`).select(SUMMARY_COLUMNS);
    // The owner's name is looked up, not copied: a renamed integration shows its new name.
    return isProject
      ? base.leftJoin('integrations', 'integrations.client_id', 'doc.created_by').select(['doc.template_id', 'integrations.name as owner_name'])
      : base;
  };

  async function get(environmentId: string, id: string): Promise<DocumentRecord | null> {
    const row = await selectSummaries().select('doc.content').where('doc.environment_id', '=', environmentId).where('doc.id', '=', id).executeTakeFirst();
    if (row === undefined) return null;
    return { ...toSummary(row as SummaryRow), content: JSON.parse(row.content) as Record<string, unknown> };
  }

  return {
    async list(environmentId: string, query: PageQuery & { createdBy?: string | undefined }): Promise<Page<DocumentSummary>> {
      let q = selectSummaries().where('doc.environment_id', '=', environmentId);
      if (query.after !== undefined) q = q.where('doc.id', '>', query.after);
      if (query.createdBy !== undefined) q = q.where('doc.created_by', '=', query.createdBy);
      const rows = await q.orderBy('doc.id').limit(query.limit + 1).execute();
      const result = page(rows as SummaryRow[], query.limit);
      return { items: result.items.map(toSummary), nextCursor: result.nextCursor };
    },

    get,

    async insert(document: NewDocument): Promise<DocumentRecord> {
      const row = {
        id: document.id,
        environment_id: document.environmentId,
        name: document.name,
        content: document.contentJson,
        size: Buffer.byteLength(document.contentJson),
        created_by: document.createdBy,
        updated_by: document.createdBy,
        created_at: document.at,
        updated_at: document.at,
        ...(isProject ? { template_id: document.templateId ?? null } : {}),
      };
      await db.insertInto(kind).values(row as ProjectsTable).execute();
      return (await get(document.environmentId, document.id))!;
    },

    async update(environmentId: string, id: string, update: DocumentUpdate): Promise<DocumentRecord | null> {
      const result = await db
        .updateTable(kind)
        .set({ name: update.name, content: update.contentJson, size: Buffer.byteLength(update.contentJson), updated_by: update.updatedBy, updated_at: update.at })
        .where('environment_id', '=', environmentId)
        .where('id', '=', id)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return null;
      return get(environmentId, id);
    },

    async delete(environmentId: string, id: string): Promise<boolean> {
      const result = await db.deleteFrom(kind).where('environment_id', '=', environmentId).where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}

function toAsset(row: AssetsTable): AssetRecord {
  return {
    id: row.id,
    environmentId: row.environment_id,
    kind: row.kind as AssetKind,
    name: row.name,
    contentType: row.content_type,
    size: Number(row.size),
    sha256: row.sha256,
    blobKey: row.blob_key,
    createdBy: row.created_by,
    createdAt: row.created_at,
  };
}

/** Media and fonts metadata over Kysely. */
function createAssetRepository(database: Database) {
  const { db } = database;
  const find = (environmentId: string, kind: AssetKind, id: string) =>
    db.selectFrom('assets').selectAll().where('environment_id', '=', environmentId).where('kind', '=', kind).where('id', '=', id).executeTakeFirst();
  return {
    async list(environmentId: string, kind: AssetKind, query: PageQuery): Promise<Page<AssetRecord>> {
      let q = db.selectFrom('assets').selectAll().where('environment_id', '=', environmentId).where('kind', '=', kind);
      if (query.after !== undefined) q = q.where('id', '>', query.after);
      const result = page(await q.orderBy('id').limit(query.limit + 1).execute(), query.limit);
      return { items: result.items.map(toAsset), nextCursor: result.nextCursor };
    },
    async get(environmentId: string, kind: AssetKind, id: string): Promise<AssetRecord | null> {
      const row = await find(environmentId, kind, id);
      return row === undefined ? null : toAsset(row);
    },
    async insert(asset: AssetRecord): Promise<void> {
      await db
        .insertInto('assets')
        .values({
          id: asset.id,
          environment_id: asset.environmentId,
          kind: asset.kind,
          name: asset.name,
          content_type: asset.contentType,
          size: asset.size,
          sha256: asset.sha256,
          blob_key: asset.blobKey,
          created_by: asset.createdBy,
          created_at: asset.createdAt,
        })
        .execute();
    },
    async delete(environmentId: string, kind: AssetKind, id: string): Promise<AssetRecord | null> {
      return db.transaction().execute(async (trx) => {
        const row = await trx.selectFrom('assets').selectAll().where('environment_id', '=', environmentId).where('kind', '=', kind).where('id', '=', id).executeTakeFirst();
        if (row === undefined) return null;
        await trx.deleteFrom('assets').where('id', '=', id).execute();
        return toAsset(row);
      });
    },
  };
}

/** Environments and their browser settings over Kysely: one query, whether or not settings were ever saved. */
function createEnvironmentRepository(database: Database) {
  return {
    async findBrowserSettings(environmentId: string): Promise<BrowserSettings | null> {
      const row = await database.db
        .selectFrom('environments')
        .leftJoin('environment_browser_settings as settings', 'settings.environment_id', 'environments.id')
        .select(['environments.id', 'settings.allowed_origins', 'settings.allow_write_tokens_in_browser'])
        .where('environments.id', '=', environmentId)
        .executeTakeFirst();
      if (row === undefined) return null;
      return {
        allowedOrigins: row.allowed_origins === null ? [] : (JSON.parse(row.allowed_origins) as string[]),
        allowWriteTokensInBrowser: row.allow_write_tokens_in_browser === 1,
      };
    },
  };
}

/**
 * The Environment API's storage over one Kysely database (SQLite or PostgreSQL, same queries); it
 * satisfies environment-api/storage.ts's EnvironmentApiStorage.
 *
 * @example
 * const storage = createEnvironmentApiRepositories(runtime.database);
 * const page = await storage.templates.list('demo', { limit: 50 });
 */
export function createEnvironmentApiRepositories(database: Database) {
  return {
    templates: createDocumentRepository(database, 'templates'),
    projects: createDocumentRepository(database, 'projects'),
    assets: createAssetRepository(database),
    environments: createEnvironmentRepository(database),
  };
}

/** Browser settings of an environment that has never saved any (the columns' defaults, migrations 0003 and 0011). */
export const DEFAULT_BROWSER_SETTINGS_ROW = {
  allowed_origins: '[]',
  allow_write_tokens_in_browser: 0,
  browser_token_ttl_seconds: 900,
  allow_client_credentials_from_browser: 0,
} as const satisfies Omit<EnvironmentBrowserSettingsTable, 'environment_id' | 'updated_at'>;

/**
 * Sets some of an environment's browser settings (inside the caller's transaction), creating the row
 * with the defaults for the others if needed; columns left out keep their value.
 */
export async function upsertBrowserSettings(db: Kysely<Schema>, environmentId: string, set: Partial<Omit<EnvironmentBrowserSettingsTable, 'environment_id' | 'updated_at'>> & { updated_at: number }): Promise<void> {
  await db
    .insertInto('environment_browser_settings')
    .values({ environment_id: environmentId, ...DEFAULT_BROWSER_SETTINGS_ROW, ...set })
    .onConflict((conflict) => conflict.column('environment_id').doUpdateSet(set))
    .execute();
}
