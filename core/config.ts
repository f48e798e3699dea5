import { z } from 'zod';

export const TASK_QUEUE = 'hybridrag-migration';

/**
 * Collections loaded at once: all of them (LightRAG has at most 13). The workers' activity slots
 * bound what really runs at once; loading a few collections at a time left slots idle while one
 * collection finished its last range and the next one's workflow started (measured: 42 % idle).
 */
export const DEFAULT_COLLECTION_PARALLELISM = 16;

/**
 * A job's defaults, for the CLI and the API alike. What the loading knobs (parallelism,
 * batches per activity, collections at once) mean: LoadKnobs in core/migration/types.ts.
 */
export const JOB_DEFAULTS = {
  batchSize: 1000,
  parallelism: 4,
  workspace: 'default',
  layout: 'lightrag',
  highDimensionIndex: 'none',
} as const;

const EnvSchema = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_UI_URL: z.string().url().optional(),
  DATABASE_URL: z.string().optional(),
});

export interface TemporalSettings {
  address: string;
  namespace: string;
  uiUrl: string;
}

/** Temporal settings from the environment (what `npm run services -- env` prints). */
export function temporalSettings(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<TemporalSettings> = {},
): TemporalSettings {
  const parsed = EnvSchema.parse({
    TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS || undefined,
    TEMPORAL_NAMESPACE: env.TEMPORAL_NAMESPACE || undefined,
    TEMPORAL_UI_URL: env.TEMPORAL_UI_URL || undefined,
  });
  const address = overrides.address ?? parsed.TEMPORAL_ADDRESS;
  return {
    address,
    namespace: overrides.namespace ?? parsed.TEMPORAL_NAMESPACE,
    uiUrl: (overrides.uiUrl ?? parsed.TEMPORAL_UI_URL ?? `http://${address.replace(/:\d+$/, '')}:8233`).replace(
      /\/$/,
      '',
    ),
  };
}

/** The Temporal UI page of one workflow. */
export function workflowUiLink(settings: TemporalSettings, workflowId: string): string {
  return `${settings.uiUrl}/namespaces/${encodeURIComponent(settings.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
