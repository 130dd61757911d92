import type { FastifyInstance, FastifyReply } from 'fastify';
import { validateEnvironmentId } from '../../platform/environments.ts';
import { DOCS_CSP, environmentOpenApi, SWAGGER_UI_CONFIG } from '../openapi.ts';

const PAGE_HEADERS = {
  'content-security-policy': DOCS_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** Swagger UI's page, loading its files from /docs/static and its settings from the script next to it. */
function environmentDocsPage(environmentId: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Latchkey API — environment ${environmentId}</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css">
<link rel="stylesheet" href="/docs/static/index.css">
<link rel="icon" type="image/png" href="/docs/static/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script src="/docs/static/swagger-ui-standalone-preset.js"></script>
<script src="/docs/environments/${environmentId}/swagger-initializer.js"></script>
</body>
</html>
`;
}

/** The page's settings: this environment's document, as a script file (the CSP allows no inline script). */
function environmentDocsInitializer(environmentId: string): string {
  const config = { ...SWAGGER_UI_CONFIG, url: `/api/v1/environments/${environmentId}/openapi.json`, dom_id: '#swagger-ui', layout: 'StandaloneLayout' };
  return `window.onload = function () {
  window.ui = SwaggerUIBundle(Object.assign(${JSON.stringify(config)}, {
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
  }));
};
`;
}

const send = (reply: FastifyReply, type: string, body: string) => reply.headers(PAGE_HEADERS).type(type).send(body);

/**
 * The seed's "Your Environment Swagger": one environment's OpenAPI document and a Swagger UI page
 * for it, at addresses of their own (Swagger UI's ?url= is off). Neither needs credentials nor
 * looks the environment up: the document is the API's, with the id filled in, so an existing and a
 * missing environment get the same answer and nothing tells them apart. Ids are checked for shape,
 * so nothing but an id reaches the page or the script.
 */
export async function environmentDocsRoutes(app: FastifyInstance): Promise<void> {
  app.get<{ Params: { environmentId: string } }>('/api/v1/environments/:environmentId/openapi.json', async (request) => {
    validateEnvironmentId(request.params.environmentId);
    return environmentOpenApi(app, request.params.environmentId);
  });
  app.get<{ Params: { environmentId: string } }>('/docs/environments/:environmentId', async (request, reply) => {
    validateEnvironmentId(request.params.environmentId);
    return send(reply, 'text/html; charset=utf-8', environmentDocsPage(request.params.environmentId));
  });
  app.get<{ Params: { environmentId: string } }>('/docs/environments/:environmentId/swagger-initializer.js', async (request, reply) => {
    validateEnvironmentId(request.params.environmentId);
    return send(reply, 'text/javascript; charset=utf-8', environmentDocsInitializer(request.params.environmentId));
  });
}
