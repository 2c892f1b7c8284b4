// node-oidc-provider, on which Moneyhub's identity service is reported to be built
// (`moneyhub-api.md` §2), set up as a Moneyhub-like issuer for crates/moneyhub's
// `node_oidc_provider` test: the client's real authorization answers come from the real library,
// not from our sandbox's idea of it. Prints `listening <issuer>` once it serves; stops with
// its parent's stdin.
//
// Moneyhub's own parts are stood in for only where the client needs them: the login names the
// user (`sub`), and the id_token carries `mh:con_id`.
import http from 'node:http';

import Provider from 'oidc-provider';

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
// Moneyhub's issuer ends in /oidc, and the client derives it that way.
const issuer = `http://127.0.0.1:${server.address().port}/oidc`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'banklinks-node-oidc',
      client_secret: 'node-oidc-provider-test-secret',
      application_type: 'native',
      redirect_uris: ['banklinks://callback'],
      response_types: ['code', 'code id_token'],
      grant_types: ['authorization_code', 'implicit', 'refresh_token'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  responseTypes: ['code', 'code id_token'],
  scopes: ['openid', 'offline_access', 'id:test', 'reauth'],
  claims: { openid: ['sub', 'mh:con_id'] },
  // Moneyhub's id_token carries mh:con_id whatever the scope.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true },
    claimsParameter: { enabled: true },
    pushedAuthorizationRequests: { enabled: true },
  },
  findAccount: (_ctx, accountId) => ({
    accountId,
    claims: () => ({ sub: accountId, 'mh:con_id': `node-oidc-connection-${accountId}` }),
  }),
});
const handle = provider.callback();
server.on('request', (req, res) => {
  if (!req.url.startsWith('/oidc/')) {
    res.writeHead(404).end();
    return;
  }
  req.originalUrl = req.url;
  req.url = req.url.slice('/oidc'.length);
  handle(req, res);
});
console.log(`listening ${issuer}`);

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
