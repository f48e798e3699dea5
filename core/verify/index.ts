/** core/verify: Phase 3 verification (Temporal-free). See docs/verify.md. */
export {
  verifyStaging,
  verifyProduction,
  verifyTables,
  type VerifyOptions,
  type VerifyProgress,
  type VerifySource,
} from './verify';
export {
  writeReport,
  summarizeReport,
  verificationOutcome,
  REPORT_DIR,
  type VerificationReport,
  type CollectionVerification,
  type SampleMismatch,
  type DifferenceList,
} from './report';
export { jsonbText, numericText } from './jsonb';
