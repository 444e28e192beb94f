/**
 * `@veil/kms`: the Veil gatekeeper. It holds the network's master secret inside a TEE, approves workers
 * whose quotes verify, provisions their cluster secrets (`POST /v1/provision`) and publishes every
 * deployed contract's public keys. See docs/protocol.md, "Provisioning (KMS)".
 */

export {
  createKmsApp,
  type KmsApiSource,
  type KmsHealth,
  type KmsInfo,
  type KmsPhase,
  type KmsStatus,
  MAX_PROVISION_BODY_BYTES,
} from './app.js'
export {
  type ApproverStatus,
  type CollateralSource,
  WorkerApprover,
  type WorkerApproverOptions,
  type WorkerRefusal,
} from './approver.js'
export { type QuotePolicy, type RegisteredWorker, verifyRegisteredWorker } from './attestation.js'
export {
  KmsApiError,
  type KmsApiErrorCode,
  KmsError,
  type KmsErrorCode,
  type ProvisionRefusalCode,
} from './errors.js'
export {
  MAX_QUOTE_BYTES,
  type ParsedProvisionRequest,
  PROVISION_AEAD,
  Provisioner,
  type ProvisionerOptions,
  type ProvisionRequest,
  type ProvisionResponse,
  parseProvisionRequest,
  provisionDigest,
  provisionInfo,
} from './provision.js'
export {
  ContractKeyPublisher,
  type ContractKeyPublisherOptions,
  type ContractPublicKeys,
  contractPublicKeys,
  type PublisherStatus,
} from './publisher.js'
export { type RegistryReader, registryReader, type WorkerRecord } from './registry-reader.js'
export {
  KMS_SEAL_LABELS,
  KMS_SECRET_FILES,
  type KmsSecrets,
  type OpenKmsSecretsOptions,
  openKmsSecrets,
} from './secrets.js'
export { KMS_VERSION, KmsService, type KmsServiceOptions } from './service.js'
