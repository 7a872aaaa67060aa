// Verification of a linkage proof (SD-JWT VC) by Credo (@credo-ts/core,
// the OpenWallet Foundation's agent framework), the way an OpenID4VP
// verifier following HAIP does: Credo reads the issuer-signed JWT's x5c
// header, builds and validates the certificate chain to the trusted root
// (@peculiar/x509 under Credo's X509Service: signatures, validity at now,
// the chain ending in a configured trust anchor), checks that the leaf
// certificate names the credential's iss (SAN URI or DNS name), then
// verifies the SD-JWT VC with the leaf's key (signature, typ, vct, iat/exp,
// the disclosures, and the status list entry fetched from the status URI).
// The only thing given to Credo is a key management backend that can
// verify an ES256 signature with node:crypto: no key, no chain, no answer.
//
//   node x5c.mjs SD_JWT ROOT_PEM_FILE
//
// Prints {"valid", "error", "iss", "leaf_subject", "chain"} as JSON.
import 'reflect-metadata'
import { readFileSync } from 'node:fs'
import { EventEmitter } from 'node:events'
import { createPublicKey, verify, randomBytes, X509Certificate } from 'node:crypto'
import { Agent, DependencyManager, InjectionSymbols, Kms, SdJwtVcService, X509Module } from '@credo-ts/core'

const [sdjwt, rootFile] = process.argv.slice(2)
const rootDER = new X509Certificate(readFileSync(rootFile)).raw.toString('base64')

// NodeVerify is a Credo key management backend that verifies ES256
// signatures and makes random bytes; it holds no keys.
class NodeVerify {
  backend = 'node-verify'
  isOperationSupported(_ctx, op) { return op.operation === 'verify' || op.operation === 'randomBytes' }
  async verify(_ctx, { key, data, signature, algorithm }) {
    if (algorithm !== 'ES256' || !key.publicJwk) return { verified: false }
    const pub = createPublicKey({ key: key.publicJwk, format: 'jwk' })
    const ok = verify('sha256', data, { key: pub, dsaEncoding: 'ieee-p1363' }, signature)
    return ok ? { verified: true, publicJwk: key.publicJwk } : { verified: false }
  }
  randomBytes(_ctx, { length }) { return randomBytes(length) }
  async getPublicKey() { return null }
}
class NoFileSystem { dataPath = '/nonexistent'; cachePath = '/nonexistent'; tempPath = '/nonexistent' }

// Credo's agent needs a storage service registered; verification never
// stores anything, so an empty one will do.
const dm = new DependencyManager()
dm.registerInstance(InjectionSymbols.StorageService, {})
const agent = new Agent({
  config: { allowInsecureHttpUrls: true }, // the test server is plain http on 127.0.0.1
  dependencies: { FileSystem: NoFileSystem, fetch, EventEmitterClass: EventEmitter, WebSocketClass: class {} },
  modules: { kms: new Kms.KeyManagementModule({ backends: [new NodeVerify()] }), x509: new X509Module({}) },
}, dm)

const res = await agent.dependencyManager.resolve(SdJwtVcService)
  .verify(agent.context, { compactSdJwtVc: sdjwt, trustedCertificates: [rootDER] })
const header = JSON.parse(Buffer.from(sdjwt.split('.')[0], 'base64url'))
const x5c = Array.isArray(header.x5c) ? header.x5c : []
process.stdout.write(JSON.stringify({
  valid: res.isValid,
  error: res.error ? String(res.error.message || res.error) : '',
  iss: res.sdJwtVc?.payload?.iss ?? '',
  leaf_subject: x5c.length ? new X509Certificate(Buffer.from(x5c[0], 'base64')).subject : '',
  chain: x5c.length,
}) + '\n')
