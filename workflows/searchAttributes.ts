/** Search attributes the workflows set; scripts/services.sh and docker-compose.yml register the same. */
export const DATABASE_ATTRIBUTE = 'HybridragDatabase';
export const PHASE_ATTRIBUTE = 'HybridragPhase';
export const ROWS_DONE_ATTRIBUTE = 'HybridragRowsDone';
