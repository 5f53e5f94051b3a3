// The authorization server of tests/py/test_oauth.py: oidc-provider (a
// certified OpenID provider) on 127.0.0.1 with dynamic client registration,
// PKCE (required for public clients), resource indicators (RFC 8707: JWT
// access tokens whose audience is lmcp's --public-url) and a scripted
// login/consent: every interaction signs in as OIDC_USER and grants what
// was asked, up to OIDC_SCOPES.
//
// Environment: OIDC_MODULES (the node_modules holding oidc-provider),
// OIDC_PORT, OIDC_RESOURCE (lmcp's public URL), OIDC_USER, OIDC_SCOPES
// (the lmcp scopes this user may get). Prints "oidc listening <issuer>".

import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const modules = process.env.OIDC_MODULES;
const { default: Provider, errors } = await import(
  pathToFileURL(join(modules, 'oidc-provider/lib/index.js')).href
);
const jose = await import(pathToFileURL(join(modules, 'jose/dist/webapi/index.js')).href);

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const resource = process.env.OIDC_RESOURCE;
const user = process.env.OIDC_USER || 'alice';
const allowed = process.env.OIDC_SCOPES || 'lmcp:read lmcp:write lmcp:exec';

const { privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
const signing = { ...(await jose.exportJWK(privateKey)), kid: 'test-es256', alg: 'ES256', use: 'sig' };

const provider = new Provider(issuer, {
  jwks: { keys: [signing] },
  clients: [],
  // The only key is ES256: registered clients default to it for ID tokens.
  clientDefaults: { id_token_signed_response_alg: 'ES256', grant_types: ['authorization_code'], response_types: ['code'] },
  scopes: ['openid', 'offline_access', 'lmcp:read', 'lmcp:write', 'lmcp:exec'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, indicator) => {
        if (indicator !== resource) throw new errors.InvalidTarget();
        return {
          scope: allowed,
          audience: resource,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
  findAccount: (ctx, id) => ({ accountId: id, claims: () => ({ sub: id }) }),
  ttl: { AccessToken: 600, AuthorizationCode: 60, Grant: 600, Interaction: 600, Session: 600 },
});
provider.proxy = false;

// The scripted user: signs in and consents to everything asked.
provider.use(async (ctx, next) => {
  if (!ctx.path.startsWith('/interaction/')) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params, session, grantId } = details;
  let result;
  if (prompt.name === 'login') {
    result = { login: { accountId: user } };
  } else {
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const d = prompt.details;
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(d.missingResourceScopes || {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    result = { consent: { grantId: await grant.save() } };
  }
  const to = await provider.interactionResult(ctx.req, ctx.res, result, {
    mergeWithLastSubmission: prompt.name !== 'login',
  });
  ctx.status = 303;
  ctx.redirect(to);
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc listening ${issuer}`);
});
