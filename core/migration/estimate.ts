/**
 * How long a migration will take, phase by phase, from the rates measured end to end on the 2-core
 * machine of docs/benchmarks.md (100k chunks: 3.59 GB, 640,000 rows, 200,000 vectors of 1536
 * dimensions; backup 59–72 s, planning 9–11 s, staging 35–38 s, index build 262–288 s, verify
 * 48–55 s). More cores make every phase but the single-threaded parts faster; the HNSW index build
 * dominates large stores.
 */
const MEASURED_RATES = {
  backupBytesPerSecond: 55e6,
  planBytesPerSecond: 350e6,
  stagingRowsPerSecond: 17_000,
  /** finishing steps (chunk join, endpoint nodes, duplicates) */
  finishRowsPerSecond: 150_000,
  /** HNSW (m 16, ef_construction 64) build cost grows with vectors × dimensions */
  indexVectorDimensionsPerSecond: 730 * 1536,
  verifyBytesPerSecond: 70e6,
} as const;

export interface EstimateInput {
  /** bytes of the source files */
  bytes: number;
  /** records of every collection (the rows staged) */
  rows: number;
  /** vector collections: how many vectors of how many dimensions */
  vectors: { count: number; dim: number }[];
  /** whether the vectors get an index (the target plan's choice: none beyond pgvector's limits) */
  vectorIndex: boolean;
  staged: boolean;
  verify: boolean;
}

export interface PhaseEstimate {
  backup: number;
  planning: number;
  staging: number;
  indexBuild: number;
  verify: number;
  /** seconds, all phases */
  total: number;
}

export function estimatePhases(input: EstimateInput): PhaseEstimate {
  const rates = MEASURED_RATES;
  const backup = input.staged ? input.bytes / rates.backupBytesPerSecond : 0;
  const planning = input.bytes / rates.planBytesPerSecond;
  const staging = input.rows / rates.stagingRowsPerSecond + input.rows / rates.finishRowsPerSecond;
  const indexed = input.vectorIndex ? input.vectors.reduce((n, v) => n + v.count * v.dim, 0) : 0;
  const indexBuild = indexed / rates.indexVectorDimensionsPerSecond;
  const verify = input.verify ? input.bytes / rates.verifyBytesPerSecond : 0;
  const round = (s: number) => Math.ceil(s);
  return {
    backup: round(backup),
    planning: round(planning),
    staging: round(staging),
    indexBuild: round(indexBuild),
    verify: round(verify),
    total: round(backup + planning + staging + indexBuild + verify),
  };
}
