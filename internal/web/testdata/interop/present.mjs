// Presentation with the OpenWallet Foundation's OpenID4VP client
// (@openid4vc/openid4vp): parse the openid4vp:// request, resolve the signed
// request object by request_uri (its signature checked in verifyJwt below:
// the verifier attestation under the authority's trust list, the request
// under the attestation's cnf key), read the DCQL query, present the linkage
// proof (SD-JWT with only the claims asked for, KB-JWT with aud = client_id
// and the request's nonce) and submit it by direct_post.
//
//   node present.mjs AUTHORIZATION_REQUEST SD_JWT HOLDER_PRIVATE_JWK [EXTRA_CLAIM]
//
// EXTRA_CLAIM, when given, is disclosed too (a wallet disclosing more than
// asked). Prints {"status", "body", "client_id", "purpose", "claims"} as JSON.
import { createHash, createPrivateKey } from 'node:crypto'
import { Openid4vpClient } from '@openid4vc/openid4vp'
import { b64u, fromB64u, callbacks, signCompact, verifyCompact } from './wallet.mjs'

const [authorizationRequest, sdjwt, holderJWK, extra] = process.argv.slice(2)
const holderKey = createPrivateKey({ key: JSON.parse(holderJWK), format: 'jwk' })
const decode = (part) => JSON.parse(fromB64u(part).toString())

// verifyJwt checks the request object as spec/formats.md §10 says.
async function verifyJwt(signer, { header, payload, compact }) {
  if (signer.method !== 'custom' || typeof header.jwt !== 'string') return { verified: false }
  const [ah, ap] = header.jwt.split('.').map((p, i) => (i < 2 ? decode(p) : p))
  if (ah.typ !== 'verifier-attestation+jwt' || ah.alg !== 'ES256') return { verified: false }
  const jwks = await (await fetch(ap.iss + '/.well-known/jwks.json')).json()
  const key = jwks.keys.find((k) => k.kid === ah.kid)
  const now = Math.floor(Date.now() / 1000)
  const ok = key && verifyCompact(header.jwt, key) && ap.exp > now &&
    payload.client_id === 'verifier_attestation:' + ap.sub && verifyCompact(compact, ap.cnf.jwk)
  return ok ? { verified: true, signerJwk: ap.cnf.jwk } : { verified: false }
}

const client = new Openid4vpClient({ callbacks: { ...callbacks({ privateKey: holderKey }), verifyJwt } })
const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest })
const resolved = await client.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: parsed.params })
const request = resolved.authorizationRequestPayload
const query = resolved.dcql.query.credentials[0]
const wanted = query.claims.map((c) => c.path[0])
if (extra) wanted.push(extra)

// The SD-JWT presentation: the issuer JWT, the disclosures asked for, and a
// KB-JWT over them.
const [issuerJWT, ...rest] = sdjwt.split('~')
const disclosures = rest.filter((d) => d !== '' && wanted.includes(decode(d)[1]))
const presented = [issuerJWT, ...disclosures].join('~') + '~'
const kb = signCompact({ alg: 'ES256', typ: 'kb+jwt' }, {
  iat: Math.floor(Date.now() / 1000), aud: request.client_id, nonce: request.nonce,
  sd_hash: b64u(createHash('sha256').update(presented).digest()),
}, holderKey)

const response = await client.createOpenid4vpAuthorizationResponse({
  authorizationRequestPayload: request,
  authorizationResponsePayload: { vp_token: { [query.id]: [presented + kb] } },
})
const submitted = await client.submitOpenid4vpAuthorizationResponse({
  authorizationRequestPayload: request,
  authorizationResponsePayload: response.authorizationResponsePayload,
})
process.stdout.write(JSON.stringify({
  status: submitted.response.status, body: await submitted.response.text(),
  client_id: resolved.client.effective, purpose: request.purpose, claims: wanted,
}) + '\n')
