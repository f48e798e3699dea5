/**
 * npm run gen -- --out DIR --records N --dim D [--era old|mid|new|newest] [--seed S] [--only file,file]
 * Writes a realistic LightRAG working directory (see core/source/generate.ts).
 */
import { Command, InvalidArgumentError } from 'commander';
import { generateStore, type Era } from '../core/source/generate';

const positive = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive whole number');
  return n;
};

const program = new Command('gen')
  .description('Generate a LightRAG file store in the exact on-disk formats')
  .requiredOption('--out <dir>', 'output folder')
  .requiredOption('--records <n>', 'number of chunks (entities and relations: half as many each)', positive)
  .requiredOption('--dim <d>', 'embedding dimension', positive)
  .option('--era <era>', 'format era: old | mid | new | newest', 'newest')
  .option('--seed <s>', 'random seed', positive, 42)
  .option('--chunk-chars <n>', 'characters of text per chunk', positive, 4000)
  .option('--only <files>', 'comma-separated file names to write (default: all of the era)');

program.parse();
const o = program.opts<{
  out: string;
  records: number;
  dim: number;
  era: string;
  seed: number;
  chunkChars: number;
  only?: string;
}>();
if (!['old', 'mid', 'new', 'newest'].includes(o.era)) {
  console.error(`--era must be one of old, mid, new, newest (got "${o.era}").`);
  process.exit(2);
}
const t0 = Date.now();
const files = generateStore({
  out: o.out,
  records: o.records,
  dim: o.dim,
  era: o.era as Era,
  seed: o.seed,
  chunkChars: o.chunkChars,
  ...(o.only ? { only: o.only.split(',') } : {}),
});
let total = 0;
for (const f of files) {
  total += f.size;
  console.log(
    `${f.name.padEnd(40)} ${String(f.records).padStart(10)} records ${(f.size / 1e6).toFixed(1).padStart(10)} MB`,
  );
}
console.log(`wrote ${(total / 1e6).toFixed(1)} MB to ${o.out} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
