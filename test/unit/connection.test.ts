import { describe, expect, it } from 'vitest';
import { ConnectionStringError, credentialKey, describeTarget, parseConnectionString } from '../../core/connection';
import { CredentialStore } from '../../core/credentials';

describe('parseConnectionString', () => {
  it('splits the password off and keeps the rest', () => {
    const { target, password } = parseConnectionString(
      'postgresql://alice:s%40cret@db.example:6543/kb?sslmode=require&application_name=x',
    );
    expect(password).toBe('s@cret');
    expect(target).toEqual({
      host: 'db.example',
      port: 6543,
      database: 'kb',
      user: 'alice',
      params: { sslmode: 'require', application_name: 'x' },
    });
    expect(JSON.stringify(target)).not.toContain('cret');
  });

  it('takes a password given as a query parameter and drops it from params', () => {
    const { target, password } = parseConnectionString('postgres://bob@h/db?password=pw1&sslpassword=k');
    expect(password).toBe('pw1');
    expect(target.params).toEqual({});
    expect(target.port).toBe(5432);
  });

  it.each([
    ['not a url', /not a valid URL/],
    ['mysql://u@h/db', /must start with postgres:\/\//],
    ['postgres://u@h', /names no database/],
  ])('refuses %s with one clear sentence', (url, message) => {
    expect(() => parseConnectionString(url)).toThrow(ConnectionStringError);
    expect(() => parseConnectionString(url)).toThrow(message);
  });

  it('describes a target without its password', () => {
    const { target } = parseConnectionString('postgres://u:topsecret@[::1]:5433/d b');
    expect(describeTarget(target)).toBe('postgres://u@[::1]:5433/d%20b');
  });

  it('keeps the non-secret parameters, so a described target connects the same way when read back', () => {
    const { target } = parseConnectionString(
      'postgres://u:pw@db.example/kb?sslmode=require&sslpassword=k&application_name=hybrid%20rag',
    );
    const described = describeTarget(target);
    expect(described).toBe('postgres://u@db.example:5432/kb?sslmode=require&application_name=hybrid+rag');
    expect(described).not.toContain('pw');
    expect(parseConnectionString(described).target).toEqual(target);
  });
});

describe('CredentialStore', () => {
  const { target } = parseConnectionString('postgres://u@h:5432/db');

  it('prefers a password remembered in this process', () => {
    const store = new CredentialStore({ PGPASSWORD: 'from-env' });
    store.remember(target, 'remembered');
    expect(store.passwordFor(target)).toBe('remembered');
  });

  it('uses DATABASE_URL only for the same server and user', () => {
    expect(new CredentialStore({ DATABASE_URL: 'postgres://u:pw@h:5432/other' }).passwordFor(target)).toBe('pw');
    expect(new CredentialStore({ DATABASE_URL: 'postgres://v:pw@h:5432/db' }).passwordFor(target)).toBeUndefined();
    expect(new CredentialStore({ DATABASE_URL: 'postgres://u:pw@h:6000/db' }).passwordFor(target)).toBeUndefined();
  });

  it('falls back to HYBRIDRAG_PG_PASSWORD, then PGPASSWORD', () => {
    expect(new CredentialStore({ HYBRIDRAG_PG_PASSWORD: 'a', PGPASSWORD: 'b' }).passwordFor(target)).toBe('a');
    expect(new CredentialStore({ PGPASSWORD: 'b' }).passwordFor(target)).toBe('b');
    expect(credentialKey(target)).toBe('u@h:5432');
  });
});
