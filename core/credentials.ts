import { credentialKey, parseConnectionString, type DatabaseTarget } from './connection';

/**
 * Finds the password for a target without it ever passing through Temporal. Looked up in order:
 * passwords handed over in this process (the CLI's embedded worker), HYBRIDRAG_PG_PASSWORD,
 * DATABASE_URL when it names the same server and user, PGPASSWORD. With none, node-postgres
 * falls back to ~/.pgpass and trust/peer authentication.
 */
export class CredentialStore {
  private readonly passwords = new Map<string, string>();

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  remember(target: DatabaseTarget, password: string): void {
    this.passwords.set(credentialKey(target), password);
  }

  passwordFor(target: DatabaseTarget): string | undefined {
    const known = this.passwords.get(credentialKey(target));
    if (known !== undefined) return known;
    if (this.env.HYBRIDRAG_PG_PASSWORD) return this.env.HYBRIDRAG_PG_PASSWORD;
    if (this.env.DATABASE_URL) {
      try {
        const fromEnv = parseConnectionString(this.env.DATABASE_URL);
        if (fromEnv.password !== undefined && credentialKey(fromEnv.target) === credentialKey(target)) {
          return fromEnv.password;
        }
      } catch {
        // A malformed DATABASE_URL is reported where it is used as a connection string.
      }
    }
    return this.env.PGPASSWORD || undefined;
  }
}
