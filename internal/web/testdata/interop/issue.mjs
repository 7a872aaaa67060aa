// Issuance with the OpenWallet Foundation's OpenID4VCI client
// (@openid4vc/openid4vci): resolve the offer and the issuer metadata, redeem
// the pre-authorized code with the transaction code, fetch a c_nonce, make a
// jwt key proof and retrieve the credential.
//
//   node issue.mjs OFFER_URI TX_CODE
//
// Prints {"configuration", "credential", "holder_jwk" (private)} as JSON.
import { Openid4vciClient } from '@openid4vc/openid4vci'
import { callbacks, newDeviceKey } from './wallet.mjs'

const [offerURI, txCode] = process.argv.slice(2)
const device = newDeviceKey()
const client = new Openid4vciClient({ callbacks: callbacks(device) })

const offer = await client.resolveCredentialOffer(offerURI)
const metadata = await client.resolveIssuerMetadata(offer.credential_issuer)
const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
  credentialOffer: offer, issuerMetadata: metadata, txCode,
})
const configuration = offer.credential_configuration_ids[0]
const { c_nonce } = await client.requestNonce({ issuerMetadata: metadata })
const { jwt } = await client.createCredentialRequestJwtProof({
  issuerMetadata: metadata, credentialConfigurationId: configuration, nonce: c_nonce,
  signer: { method: 'jwk', alg: 'ES256', publicJwk: device.publicJwk },
})
const res = await client.retrieveCredentials({
  issuerMetadata: metadata, accessToken: accessTokenResponse.access_token,
  credentialConfigurationId: configuration, proofs: { jwt: [jwt] },
})
const credential = res.credentialResponse.credentials[0].credential
process.stdout.write(JSON.stringify({
  configuration, credential,
  holder_jwk: device.privateKey.export({ format: 'jwk' }),
}) + '\n')
