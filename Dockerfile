# Worker image for docker-compose.yml.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY index.ts ./
COPY activities ./activities
COPY client ./client
COPY core ./core
COPY scripts ./scripts
COPY workers ./workers
COPY workflows ./workflows
RUN npm ci && npm prune --omit=dev
USER node
CMD ["node", "dist/workers/main.js"]
