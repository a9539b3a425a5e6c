export { startTestIdp } from './start-test-idp.js'
export { createTestCa } from './test-ca.js'
export type { TestCa } from './test-ca.js'
export { clientAssertion, basicAuth, requestToken } from './token-helpers.js'
export type { TokenResponse, TokenRequestOptions } from './token-helpers.js'
export {
  ACCESS_TOKEN_TYPE,
  DEFAULT_API_SCOPES,
  DEFAULT_AUDIENCE,
  JWT_TOKEN_TYPE,
  REFRESH_TOKEN_TYPE,
  TESTKIT_USER_GRANT,
  TOKEN_EXCHANGE_GRANT,
} from './types.js'
export type {
  FaultOptions,
  FaultPath,
  IdpCounts,
  IdpFault,
  IssueUserTokenOptions,
  RotateKeysOptions,
  SignTokenOptions,
  TestClientAuthMethod,
  TestIdp,
  TestIdpAudienceOptions,
  TestIdpClientOptions,
  TestIdpMtls,
  TestIdpOptions,
  TestIdpSigningAlg,
} from './types.js'
